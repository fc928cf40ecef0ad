/**
 * Asynchronous invocation benchmark (issue 4). One run, one engine (API + SQLite queue + worker,
 * real environments running the no-op function), measures side by side:
 * - acceptance: `Invoke(Event)` over HTTP from several concurrent keep-alive clients; events/s
 *   answered with 202 (each 202 means the event was committed to the store) and the 202 latency;
 * - processing: events/s drained by the worker, over the whole run (first send → queue empty) and
 *   for the backlog left when the last 202 arrived (last 202 → queue empty).
 * The store is a file in a temp folder (SQLite WAL), as in production.
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

const EVENTS = Number(process.env.BENCH_ASYNC_EVENTS ?? 10_000);
const CLIENTS = Number(process.env.BENCH_ASYNC_CLIENTS ?? 16);
/** Environments the worker may run at once (the function's reserved concurrency). */
const CONCURRENCY = Number(process.env.BENCH_ASYNC_CONCURRENCY ?? 8);
const PAYLOAD = Buffer.from(JSON.stringify({ n: 1, pad: 'x'.repeat(1000) }));
const NOOP = fileURLToPath(new URL('./functions/noop/', import.meta.url));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-async-'));
  const config = loadConfigFromString(
    [
      `concurrency: { limit: ${CONCURRENCY * 2}, minimumUnreserved: 0 }`,
      'api: { host: 127.0.0.1, port: 0 }',
      `storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }`,
      'functions:',
      '  noop:',
      '    runtime: nodejs22.x',
      '    handler: index.handler',
      `    code: ${JSON.stringify(NOOP)}`,
      `    reservedConcurrency: ${CONCURRENCY}`,
      '    timeout: 30',
    ].join('\n'),
    { env: {} },
  );
  const engine = new Engine(config, { logger: silentLogger() });
  await engine.start();
  const queue = engine.asyncRuntime?.queue;
  const address = engine.api?.address();
  if (!queue || !address) throw new Error('engine without API or async queue');
  // Warm the environments so the run measures steady state, not cold starts.
  await Promise.all(
    Array.from({ length: CONCURRENCY }, () =>
      engine.invoker.invoke('noop', { payload: PAYLOAD }, { whenFull: 'wait' }),
    ),
  );

  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const post = () =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: address.port,
          method: 'POST',
          path: '/2015-03-31/functions/noop/invocations',
          agent,
          headers: { 'X-Amz-Invocation-Type': 'Event', 'Content-Length': PAYLOAD.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(PAYLOAD);
    });

  const latencies: number[] = [];
  let sent = 0;
  let refused = 0;
  const t0 = performance.now();
  let drainedAt = 0;
  let maxBacklog = 0;
  const watcher = (async () => {
    // The queue is empty again only once everything sent has been processed.
    for (;;) {
      const depth = await queue.depth();
      maxBacklog = Math.max(maxBacklog, depth);
      if (sent >= EVENTS && depth === 0) {
        drainedAt = performance.now();
        return;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (sent < EVENTS) {
        sent += 1;
        const t = performance.now();
        const status = await post();
        latencies.push(performance.now() - t);
        if (status !== 202) refused += 1;
      }
    }),
  );
  const acceptedAt = performance.now();
  const backlogAtLast202 = await queue.depth();
  await watcher;
  agent.destroy();
  await engine.stop(10_000);
  rmSync(dir, { recursive: true, force: true });
  if (refused > 0) throw new Error(`${refused} Event invokes were not answered with 202`);

  const acceptS = (acceptedAt - t0) / 1000;
  const drainS = (drainedAt - t0) / 1000;
  const tailS = (drainedAt - acceptedAt) / 1000;
  const lat = summarize(latencies);
  const data = {
    fingerprint: fingerprint(),
    events: EVENTS,
    clients: CLIENTS,
    functionConcurrency: CONCURRENCY,
    payloadBytes: PAYLOAD.length,
    acceptedPerSecond: EVENTS / acceptS,
    accept202LatencyMs: lat,
    processedPerSecond: EVENTS / drainS,
    backlogAtLast202,
    maxBacklog,
    backlogDrainPerSecond: tailS > 0 ? backlogAtLast202 / tailS : null,
    acceptSeconds: acceptS,
    drainSeconds: drainS,
  };
  const table = [
    `### Asynchronous invocation (${data.fingerprint.cpu}, Node ${process.version})`,
    '',
    `${EVENTS} \`Event\` invokes of the no-op function (${PAYLOAD.length} B payload) from ${CLIENTS} concurrent keep-alive HTTP clients; the worker runs up to ${CONCURRENCY} environments; SQLite store on disk.`,
    '',
    '| Measure | Value |',
    '|---|---|',
    `| Accepted with 202 (committed to the store) | ${round(data.acceptedPerSecond, 0)} events/s |`,
    `| 202 latency p50 / p99 | ${round(lat.p50)} ms / ${round(lat.p99)} ms |`,
    `| Processed, first send → queue empty | ${round(data.processedPerSecond, 0)} events/s |`,
    `| Backlog when the last 202 arrived (max seen) | ${backlogAtLast202} (${maxBacklog}) events |`,
    `| Backlog drain after the last 202 | ${data.backlogDrainPerSecond === null ? 'n/a' : `${round(data.backlogDrainPerSecond, 0)} events/s`} |`,
  ].join('\n');
  report('async', data, table);
}

await main();
