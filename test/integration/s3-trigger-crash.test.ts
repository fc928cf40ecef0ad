/**
 * Crash safety of the S3 trigger: `sluice start` as a child process is killed with SIGKILL while
 * MinIO pushes notifications (its webhook target keeps undelivered events in a queue_dir and
 * retries them), then started again: every record it acknowledged was durable, every record it
 * did not is pushed again, so every upload is processed (at least once).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { broker, uniqueName } from '../brokers/endpoints.ts';
import { MINIO_URL, startMinio } from '../brokers/minio.ts';
import {
  bucketWithWebhook,
  lambdaDecode,
  readRecorded,
  RECORDER,
  removeBucket,
  s3Client,
  uploadAll,
} from './s3-trigger-harness.ts';
import { freePort } from '../support/ports.ts';

const UPLOADS = 200;
/** Uploads done before the kill; the rest are made while sluice is down. */
const KILL_AFTER = 60;
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const local = broker('minio').mode === 'local' && broker('minio').url === MINIO_URL;

describe.skipIf(!local)('S3 trigger across a SIGKILL of sluice', () => {
  let dir: string;
  let port: number;
  let s3: S3Client;
  let child: ChildProcess | undefined;
  const bucket = uniqueName('s3t-crash');
  const targetId = uniqueName('s3t_crash').replace(/-/g, '_');
  const token = uniqueName('tok');

  /** Starts `sluice start` in its own process group and waits until its API answers. */
  async function startSluice(): Promise<ChildProcess> {
    const log = openSync(join(dir, 'sluice.log'), 'a');
    const proc = spawn(process.execPath, [MAIN, 'start', '--config', join(dir, 'sluice.yaml')], {
      stdio: ['ignore', log, log],
      detached: true,
    });
    await vi.waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`sluice exited with ${proc.exitCode}`);
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(res.status).toBe(200);
      },
      { timeout: 30_000, interval: 100 },
    );
    return proc;
  }

  /** SIGKILL to the whole group: the engine dies mid-request, as in a crash. */
  function killHard(proc: ChildProcess): Promise<void> {
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    if (proc.exitCode === null && proc.pid !== undefined) process.kill(-proc.pid, 'SIGKILL');
    return exited;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-s3crash-'));
    port = await freePort();
    writeFileSync(
      join(dir, 'sluice.yaml'),
      `
concurrency: { limit: 10 }
api: { host: 127.0.0.1, port: ${port} }
storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }
logging: { level: warn }
functions:
  recorder:
    runtime: nodejs22.x
    handler: index.handler
    code: ${JSON.stringify(RECORDER)}
    reservedConcurrency: 4
    environment: { RECORD_FILE: ${JSON.stringify(join(dir, 'records.jsonl'))} }
triggers:
  - name: crash
    type: s3
    function: recorder
    authToken: ${token}
    events: ['s3:ObjectCreated:*']
`,
    );
    child = await startSluice();
    const minio = await startMinio({
      webhooks: [
        {
          id: targetId,
          endpoint: `http://127.0.0.1:${port}/triggers/s3/crash`,
          authToken: token,
          queue: true,
        },
      ],
    });
    s3 = s3Client(minio);
    await bucketWithWebhook(s3, bucket, targetId);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (s3) await removeBucket(s3, bucket).catch(() => undefined);
    s3?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('processes every upload after a SIGKILL during the uploads and a restart', async () => {
    const keys = Array.from({ length: UPLOADS }, (_, i) => `crash/object ${i} ü.bin`);
    let killed: Promise<void> | undefined;
    await uploadAll(
      s3,
      bucket,
      keys.map((key, i) => ({ key, body: Buffer.alloc(i + 1, 'k') })),
      4,
      (done) => {
        if (done === KILL_AFTER) killed = killHard(child!);
      },
    );
    await killed;
    const file = join(dir, 'records.jsonl');
    const beforeRestart = new Set(readRecorded(file, bucket).map((r) => r.key)).size;
    expect(beforeRestart).toBeLessThan(UPLOADS);

    child = await startSluice();
    await vi.waitFor(
      () => {
        const seen = new Set(readRecorded(file, bucket).map((r) => lambdaDecode(r.key)));
        expect(seen.size).toBe(UPLOADS);
      },
      { timeout: 90_000, interval: 250 },
    );
    const got = readRecorded(file, bucket);
    expect(new Set(got.map((r) => lambdaDecode(r.key)))).toEqual(new Set(keys));
    for (const r of got) {
      const i = Number(/object (\d+)/.exec(lambdaDecode(r.key))![1]);
      expect(r.size).toBe(i + 1);
    }
    // At-least-once: only records in flight at the kill may run twice.
    expect(got.length - UPLOADS).toBeLessThan(KILL_AFTER);
  });
});
