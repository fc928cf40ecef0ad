/**
 * A real pipeline for the Kafka end-to-end tests: the Kafka connector under a `MappingRunner`, an
 * `Invoker` and a real Node function. The function appends `<topic>-<partition>:<offset>:<value>`
 * for each record it handled to `OUT_FILE` (one append per invoke, before it returns), so the test
 * checks exactly-once and per-partition order from what the function itself saw.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import {
  identifyKafkaItem,
  type KafkaConnector,
  type KafkaRetrySettings,
} from '../../connectors/kafka/index.ts';
import { MappingRunner } from '../../src/engine/mapping-runner.ts';
import { ConcurrencyController } from '../../src/invoker/concurrency.ts';
import { createEnvironment } from '../../src/invoker/environment.ts';
import { EnvironmentPool } from '../../src/invoker/environment-pool.ts';
import { Invoker } from '../../src/invoker/invoker.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { MappingMetrics } from '../../src/observability/mapping-metrics.ts';
import type { KafkaFixture } from './kafka-harness.ts';
import { tempDir, writeNodeFunction } from '../support/temp.ts';

/**
 * POISON: comma-separated values the function fails on. POISON_MODE `throw` (function error) or
 * `report` (ReportBatchItemFailures: the first poison record of each partition).
 */
const FUNCTION_SOURCE = `
import { appendFileSync } from 'node:fs';
const out = process.env.OUT_FILE;
const poison = new Set((process.env.POISON ?? '').split(',').filter(Boolean));
const mode = process.env.POISON_MODE ?? 'throw';
export const handler = async (event) => {
  const lines = [];
  const failures = [];
  const attempts = [];
  let size = 0;
  for (const [lane, records] of Object.entries(event.records)) {
    let failed = false;
    for (const r of records) {
      size += 1;
      const value = Buffer.from(r.value ?? '', 'base64').toString('utf8');
      if (poison.has(value)) {
        attempts.push(value);
        if (!failed) failures.push({ itemIdentifier: { partition: lane, offset: r.offset } });
        failed = true;
      }
      if (!failed) lines.push(lane + ':' + r.offset + ':' + value);
    }
  }
  appendFileSync(out + '.invokes', size + '\\n');
  const seen = Object.values(event.records).flat().map((r) => JSON.stringify([r.offset, r.key ?? null, r.value ?? null]));
  appendFileSync(out + '.records', seen.join('\\n') + '\\n');
  if (attempts.length > 0) appendFileSync(out + '.attempts', attempts.join('\\n') + '\\n');
  if (attempts.length > 0 && mode === 'throw') throw new Error('poison: ' + attempts.join(','));
  if (lines.length > 0) appendFileSync(out, lines.join('\\n') + '\\n');
  return mode === 'report' ? { batchItemFailures: failures } : null;
};
`;

export interface PipelineOptions {
  batchSize: number;
  windowMs?: number;
  retry?: KafkaRetrySettings;
  reportBatchItemFailures?: boolean;
  poison?: string[];
  poisonMode?: 'throw' | 'report';
}

export interface Pipeline {
  outFile: string;
  runner: MappingRunner;
  connector: KafkaConnector;
  /** Lines the function wrote for handled records. */
  handled(): string[];
  /** Poison values the function saw, once per time it saw them. */
  attempts(): string[];
  /** Batch sizes of every invoke. */
  invokes(): number[];
  /** Every record the function was given: [offset, key, value] as in the event (base64 or null). */
  seen(): [number, string | null, string | null][];
  stop(): Promise<void>;
}

const lines = (file: string): string[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

export async function startPipeline(f: KafkaFixture, o: PipelineOptions): Promise<Pipeline> {
  const dir = writeNodeFunction(tempDir('sluice-kafka-fn-').path, FUNCTION_SOURCE);
  const outFile = join(dir, 'handled.txt');
  const logger = silentLogger();
  const pool = new EnvironmentPool({ createEnvironment, onLog: () => undefined, logger });
  const invoker = new Invoker({
    concurrency: new ConcurrencyController({ engineLimit: 20, reserved: {}, minimumUnreserved: 0 }),
    pool,
    logger,
  });
  invoker.register({
    name: 'kafka-recorder',
    runtime: 'nodejs22.x',
    handler: 'index.handler',
    codeDir: dir,
    memorySizeMb: 256,
    timeoutMs: 30_000,
    environment: {
      OUT_FILE: outFile,
      POISON: (o.poison ?? []).join(','),
      POISON_MODE: o.poisonMode ?? 'throw',
    },
    region: 'us-east-1',
    accountId: '000000000000',
    idleTimeoutMs: 600_000,
  });
  const connector = await f.open({
    batchSize: o.batchSize,
    ...(o.retry ? { retry: o.retry } : {}),
  });
  const runner = new MappingRunner({
    settings: {
      name: 'kafka-e2e',
      functionName: 'kafka-recorder',
      enabled: true,
      batchSize: o.batchSize,
      maximumBatchingWindowMs: o.windowMs ?? 500,
      reportBatchItemFailures: o.reportBatchItemFailures ?? false,
      maximumConcurrency: undefined,
      ordered: true,
      windowMode: 'first-record',
      idleWaitMs: 1000,
    },
    connector,
    invoker,
    failurePolicy: (failed, verdict) => connector.applyFailurePolicy(failed, verdict),
    identify: identifyKafkaItem,
    logger,
    metrics: new MappingMetrics(new Registry()),
  });
  await runner.start();
  const pipeline: Pipeline = {
    outFile,
    runner,
    connector,
    handled: () => lines(outFile),
    attempts: () => lines(`${outFile}.attempts`),
    invokes: () => lines(`${outFile}.invokes`).map(Number),
    seen: () =>
      lines(`${outFile}.records`).map(
        (l) => JSON.parse(l) as [number, string | null, string | null],
      ),
    async stop() {
      await runner.stop(10_000);
      await pool.stop();
    },
  };
  return pipeline;
}

/** Offsets per partition, in the order the function handled them. */
export function offsetsByLane(handled: readonly string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const line of handled) {
    const [lane, offset] = line.split(':');
    if (lane === undefined || offset === undefined) continue;
    const list = out.get(lane);
    if (list) list.push(Number(offset));
    else out.set(lane, [Number(offset)]);
  }
  return out;
}
