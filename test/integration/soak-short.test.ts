/**
 * The chaos soak in small (bench/soak, `npm run soak` for the full one): a real `sluice start`
 * worker consumes an SQS queue (10 s visibility timeout) on the shared ElasticMQ while a few hundred
 * messages are sent, and is SIGKILLed and restarted a few times at random moments. Nothing may be
 * lost, and the copies delivered twice may not exceed what the worker's /metrics said it held
 * just before each kill. The shared broker is never frozen or killed here.
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
  rmSync(dir, { recursive: true, force: true });
});

describe('chaos soak, short: SQS under repeated SIGKILLs of the worker', () => {
  it('loses no message and delivers no more duplicates than the worker held at its kills', async () => {
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
    expect(result.kills).toBe(3);
    expect(result.unknown).toBe(0);
    expect({ sent: result.sent, lost: result.lost }).toEqual({ sent: 400, lost: 0 });
    expect(result.extraDeliveries).toBeLessThanOrEqual(result.heldBound + result.ambiguousSends);
  });
});
