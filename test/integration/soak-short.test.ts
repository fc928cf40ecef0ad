/**
 * The chaos soak in small (bench/soak, `npm run soak` for the full one): a real `sluice start`
 * worker consumes an SQS queue (10 s visibility timeout) on the shared ElasticMQ while a few hundred
 * messages are sent, and is SIGKILLed and restarted a few times at random moments. Nothing may be
 * lost. Every delivery names the worker generation it happened in, so each copy is charged to the
 * kill that ended its previous delivery's worker: per kill, the copies may not exceed what the
 * worker's /metrics said it held just before that kill, and no record may be delivered twice
 * within one worker (there is no broker outage here to explain it). The shared broker is never
 * frozen or killed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { soakSource, type SourceResult } from '../../bench/soak/chaos.ts';
import { sqsSource } from '../../bench/soak/sources.ts';
import { reapMarked, type SoakWorker } from '../../bench/soak/worker.ts';
import { broker } from '../brokers/endpoints.ts';

const runId = randomUUID();
const dir = mkdtempSync(join(tmpdir(), 'sluice-soak-short-'));
let worker: SoakWorker | undefined;

afterAll(async () => {
  await worker?.kill();
  reapMarked(runId);
  // SOAK_SHORT_KEEP=1 keeps the worker log, config and record file for a look afterwards.
  if (process.env.SOAK_SHORT_KEEP) console.info(`[soak-short] kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
});

describe('chaos soak, short: SQS under repeated SIGKILLs of the worker', () => {
  it('loses no message, never delivers one twice within one worker, and each kill causes no more copies than the worker held then', async () => {
    const url = broker('sqs').url as string;
    const source = sqsSource(url, { visibilityTimeoutS: 10, batchSize: 10 });
    await source.setup();
    let result: SourceResult;
    try {
      result = await soakSource(
        { source, outageKinds: [], dir, runId },
        {
          records: 400,
          kills: 3,
          outages: 0,
          outageMs: 0,
          sendMs: 15_000,
          drainLimitMs: 90_000,
          // Longer than the visibility timeout: a held message that was processed and not deleted
          // comes back within it and is counted.
          quietMs: 11_000,
          workMs: 5,
          random: Math.random,
          log: (line) => console.info(`[soak-short] ${line}`),
        },
        { onWorker: (w) => (worker = w) },
      );
    } finally {
      await source.teardown();
    }
    console.info(`[soak-short] ${JSON.stringify(result)}`);
    expect(result.kills).toBeGreaterThanOrEqual(3);
    expect(result.unknown).toBe(0);
    expect({ sent: result.sent, lost: result.lost }).toEqual({ sent: 400, lost: 0 });
    expect(result.sameGenerationSamples).toEqual([]);
    expect(result.unattributed).toBe(0);
    const overBound = result.killNotes.filter((k) => k.duplicates > k.bound);
    expect(overBound).toEqual([]);
  });
});
