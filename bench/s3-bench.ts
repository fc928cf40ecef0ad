/**
 * S3 trigger benchmark (issue 8): notifications per second
 * - accepted: pushes answered 2xx, each after its records were committed to the SQLite queue
 *   (WAL, synchronous=NORMAL — the engine's default durability);
 * - processed: records whose asynchronous invoke of a no-op Node function finished (queue empty).
 * Lanes: one record per push (MinIO's webhook, S3) and ten records per push, each over a
 * keep-alive HTTP agent with BENCH_S3_CONNECTIONS requests in flight. A warm-up lane runs first.
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
import { round } from './lib/stats.ts';

const RECORDS = Number(process.env.BENCH_S3_RECORDS ?? 5000);
const CONNECTIONS = Number(process.env.BENCH_S3_CONNECTIONS ?? 16);
const NOOP = fileURLToPath(new URL('./functions/noop/', import.meta.url));

let sequence = 0;

/** A MinIO-shaped push of `n` new records (fresh sequencers, so none is a duplicate). */
function push(n: number): Buffer {
  const Records = Array.from({ length: n }, () => {
    const seq = (++sequence).toString(16).toUpperCase().padStart(16, '0');
    return {
      eventVersion: '2.0',
      eventSource: 'minio:s3',
      awsRegion: '',
      eventTime: new Date().toISOString(),
      eventName: 's3:ObjectCreated:Put',
      userIdentity: { principalId: 'minioadmin' },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: { 'x-amz-request-id': seq },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'Config',
        bucket: { name: 'bench', ownerIdentity: { principalId: 'minioadmin' } },
        object: { key: `images%2Fobject+${seq}.jpg`, size: 1024, eTag: 'e', sequencer: seq },
      },
    };
  });
  return Buffer.from(JSON.stringify({ EventName: 's3:ObjectCreated:Put', Records }));
}

function post(agent: Agent, port: number, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/triggers/s3/bench',
        agent,
        headers: { 'Content-Length': body.length, authorization: 'Bearer bench' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface Lane {
  recordsPerPush: number;
  records: number;
  acceptedPerSecond: number;
  processedPerSecond: number;
}

async function lane(engine: Engine, recordsPerPush: number, records: number): Promise<Lane> {
  const port = engine.api!.address().port;
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const pushes = Math.ceil(records / recordsPerPush);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < pushes) {
      next += 1;
      const status = await post(agent, port, push(recordsPerPush));
      if (status !== 200) throw new Error(`push answered ${status}`);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const acceptedMs = performance.now() - started;
  const queue = engine.asyncRuntime!.queue;
  while ((await queue.depth()) > 0) await new Promise((r) => setTimeout(r, 5));
  const processedMs = performance.now() - started;
  agent.destroy();
  const n = pushes * recordsPerPush;
  return {
    recordsPerPush,
    records: n,
    acceptedPerSecond: n / (acceptedMs / 1000),
    processedPerSecond: n / (processedMs / 1000),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-s3-bench-'));
  const config = loadConfigFromString(
    `
concurrency: { limit: 16 }
api: { host: 127.0.0.1, port: 0 }
storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }
logging: { level: warn }
functions:
  noop: { runtime: nodejs22.x, handler: index.handler, code: ${JSON.stringify(NOOP)}, reservedConcurrency: 8 }
triggers:
  - { name: bench, type: s3, function: noop, authToken: bench, maxQueueDepth: 1000000 }
`,
    { file: join(dir, 'sluice.yaml') },
  );
  const engine = new Engine(config, { logger: silentLogger() });
  await engine.start();
  try {
    await lane(engine, 1, 500);
    const lanes = [await lane(engine, 1, RECORDS), await lane(engine, 10, RECORDS)];
    const data = { fingerprint: fingerprint(), connections: CONNECTIONS, lanes };
    const table = [
      `### S3 trigger (${data.fingerprint.cpu}, Node ${process.version}, ${CONNECTIONS} connections)`,
      '',
      '| Records per push | Records | Accepted (2xx after durable write) | Processed (invoke done) |',
      '|---|---|---|---|',
      ...lanes.map(
        (l) =>
          `| ${l.recordsPerPush} | ${l.records} | ${round(l.acceptedPerSecond, 0)} /s | ${round(l.processedPerSecond, 0)} /s |`,
      ),
    ].join('\n');
    report('s3', data, table);
  } finally {
    await engine.stop(10_000);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
