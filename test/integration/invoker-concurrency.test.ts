import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFromString } from '../../src/app/config.ts';
import type { Engine } from '../../src/app/sluice-app.ts';
import { ThrottleError } from '../../src/invoker/concurrency.ts';
import { listenOnFreePort } from '../support/ports.ts';
import { startTestEngine } from '../support/start-test-engine.ts';
import { FUNCTIONS_DIR } from './environment-harness.ts';

/** Counts invokes running at once, as reported by the functions themselves. */
async function startCollector(): Promise<{
  server: Server;
  url: string;
  stats: { now: number; peak: number; total: number };
}> {
  const stats = { now: 0, peak: 0, total: 0 };
  const server = createServer((req, res) => {
    if (req.url === '/enter') {
      stats.now += 1;
      stats.total += 1;
      stats.peak = Math.max(stats.peak, stats.now);
    } else if (req.url === '/exit') stats.now -= 1;
    res.end('ok');
  });
  return { server, url: `http://127.0.0.1:${await listenOnFreePort(server)}`, stats };
}

describe('scaling invoker with real environments', () => {
  let engine: Engine;
  let collector: Awaited<ReturnType<typeof startCollector>>;

  beforeAll(async () => {
    collector = await startCollector();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-conc-'));
    const config = loadConfigFromString(
      `
concurrency: { limit: 100 }
api: { port: 0 }
storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }
functions:
  probe:
    runtime: nodejs22.x
    handler: index.handler
    code: ${JSON.stringify(join(FUNCTIONS_DIR, 'concurrency-probe'))}
    timeout: 10
    reservedConcurrency: 10
    provisionedConcurrency: 2
    environment: { COLLECTOR_URL: ${JSON.stringify(collector.url)} }
`,
      { file: join(dir, 'sluice.yaml') },
    );
    engine = await startTestEngine(config);
  });

  afterAll(async () => {
    await engine?.stop(10_000);
    collector?.server.close();
  });

  it('has provisioned environments initialised before the first invoke', async () => {
    expect(engine.pool.counts('probe')).toMatchObject({ idle: 2, provisioned: 2, busy: 0 });
    const result = await engine.invoker.invoke('probe', { payload: Buffer.from('{"holdMs":1}') });
    expect(result.ok).toBe(true);
    expect(JSON.parse(result.payload.toString()).initializationType).toBe(
      'provisioned-concurrency',
    );
  });

  it('never runs more than reservedConcurrency at once; the rest wait when asked to', async () => {
    collector.stats.peak = 0;
    collector.stats.total = 0;
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        engine.invoker.invoke(
          'probe',
          { payload: Buffer.from('{"holdMs":100}') },
          { whenFull: 'wait' },
        ),
      ),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(collector.stats.total).toBe(50);
    expect(collector.stats.peak).toBeLessThanOrEqual(10);
    expect(collector.stats.peak).toBeGreaterThan(1); // really in parallel
    // Environments are reused: never more than the ceiling were created.
    const counts = engine.pool.counts('probe');
    expect(counts.idle + counts.busy).toBeLessThanOrEqual(10);
  });

  it('throttles the excess of 50 parallel synchronous invokes with Lambda reasons', async () => {
    collector.stats.peak = 0;
    const settled = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        engine.invoker.invoke('probe', { payload: Buffer.from('{"holdMs":200}') }),
      ),
    );
    const ok = settled.filter((s) => s.status === 'fulfilled');
    const throttled = settled.filter(
      (s): s is PromiseRejectedResult =>
        s.status === 'rejected' && s.reason instanceof ThrottleError,
    );
    expect(ok.length).toBe(10);
    expect(throttled.length).toBe(40);
    expect(
      throttled.every(
        (t) =>
          (t.reason as ThrottleError).reason ===
          'ReservedFunctionConcurrentInvocationLimitExceeded',
      ),
    ).toBe(true);
    expect(collector.stats.peak).toBeLessThanOrEqual(10);
  });
});
