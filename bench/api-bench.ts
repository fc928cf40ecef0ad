/**
 * Invoke API overhead benchmark (issue 4). One engine, one warm environment of the no-op function
 * (reserved concurrency 1, so both lanes use the same environment), sequential invokes:
 * - `Invoke(RequestResponse)` over HTTP with a keep-alive client (one socket);
 * - `engine.invoker.invoke` called directly in-process.
 * The difference is what the HTTP API adds (parsing, routing, validation, the HTTP round trip).
 * Lanes alternate in rounds; a first round is discarded as warm-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfigFromString } from '../src/app/config.ts';
import { Engine } from '../src/app/sluice-app.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { fingerprint } from './lib/fingerprint.ts';
import { report } from './lib/results.ts';
import { round, summarize } from './lib/stats.ts';

const SAMPLES = Number(process.env.BENCH_API_SAMPLES ?? 4000);
const ROUNDS = 4;
const PAYLOAD = Buffer.from(JSON.stringify({ n: 1, pad: 'x'.repeat(1000) }));
const NOOP = fileURLToPath(new URL('./functions/noop/', import.meta.url));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-api-'));
  const config = loadConfigFromString(
    [
      'concurrency: { limit: 10, minimumUnreserved: 0 }',
      'api: { host: 127.0.0.1, port: 0 }',
      `storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }`,
      'functions:',
      '  noop:',
      '    runtime: nodejs22.x',
      '    handler: index.handler',
      `    code: ${JSON.stringify(NOOP)}`,
      '    reservedConcurrency: 1',
      '    timeout: 30',
    ].join('\n'),
    { env: {} },
  );
  const engine = new Engine(config, { logger: silentLogger() });
  await engine.start();
  const address = engine.api?.address();
  if (!address) throw new Error('engine without API');

  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const viaHttp = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: address.port,
          method: 'POST',
          path: '/2015-03-31/functions/noop/invocations',
          agent,
          headers: { 'Content-Length': PAYLOAD.length, 'Content-Type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode !== 200 || res.headers['x-amz-function-error']) {
              reject(new Error(`HTTP invoke failed: ${res.statusCode} ${Buffer.concat(chunks)}`));
            } else resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(PAYLOAD);
    });
  const direct = async () => {
    const result = await engine.invoker.invoke('noop', { payload: PAYLOAD }, { whenFull: 'wait' });
    if (!result.ok) throw new Error(`direct invoke failed: ${JSON.stringify(result.error)}`);
  };
  const lane = async (fn: () => Promise<void>, n: number, into: number[] | undefined) => {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await fn();
      into?.push(performance.now() - t);
    }
  };

  const http: number[] = [];
  const inProcess: number[] = [];
  await lane(viaHttp, 300, undefined);
  await lane(direct, 300, undefined);
  const per = Math.ceil(SAMPLES / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    await lane(viaHttp, per, http);
    await lane(direct, per, inProcess);
  }
  agent.destroy();
  await engine.stop(10_000);
  rmSync(dir, { recursive: true, force: true });

  const h = summarize(http);
  const d = summarize(inProcess);
  const data = {
    fingerprint: fingerprint(),
    samplesPerLane: h.n,
    payloadBytes: PAYLOAD.length,
    httpRequestResponseMs: h,
    directInvokerMs: d,
    overheadP50Ms: h.p50 - d.p50,
    overheadP99Ms: h.p99 - d.p99,
    ratioP50: h.p50 / d.p50,
  };
  const table = [
    `### Invoke API overhead (${data.fingerprint.cpu}, Node ${process.version})`,
    '',
    `Sequential invokes of the no-op function (${PAYLOAD.length} B payload) on the same warm environment; ${h.n} samples per lane.`,
    '',
    '| Lane | p50 | p99 |',
    '|---|---|---|',
    `| Direct in-process \`invoker.invoke\` | ${round(d.p50)} ms | ${round(d.p99)} ms |`,
    `| \`Invoke(RequestResponse)\` over HTTP, keep-alive | ${round(h.p50)} ms | ${round(h.p99)} ms |`,
    `| Difference (API overhead) | ${round(data.overheadP50Ms)} ms (${round(data.ratioP50, 2)}×) | ${round(data.overheadP99Ms)} ms |`,
  ].join('\n');
  report('api', data, table);
}

await main();
