/**
 * Kafka connector benchmark (issue 6). Needs a broker: `npm run brokers -- up` (or set
 * SLUICE_BENCH_KAFKA_BROKERS). One run, one topic (6 partitions, BENCH_KAFKA_RECORDS records):
 *
 * - the floor: a raw kafkajs `eachBatch` consumer (new group, auto-commit) reading every record;
 * - the same consumer doing, in-process, the JSON work per record a delivery cannot avoid (event
 *   JSON with base64 key/value, and the function's parse of it): explains how much of the gap is
 *   that work rather than the engine's plumbing (the no-op lane stays the reported floor);
 * - records/s through the whole engine (Kafka connector → MappingRunner → Invoker → a no-op Node
 *   function → contiguous commits) with batch 100 and 500, each as % of the floor (target ≥ 90 %);
 * - end-to-end latency (record timestamp → batch settled after the function returned) at half the
 *   batch-100 saturation rate, window 0 (the engine's own delay, without a batching window).
 *
 * Raw and engine runs alternate (raw, 100, 500, raw…) and the floor is their mean, so drift of the
 * machine during the run hits both sides.
 */
import { noopInvoker } from './lib/noop-invoker.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import {
  identifyKafkaItem,
  KafkaConnector,
  KafkaFailureSink,
  KafkajsSourceClient,
} from '../connectors/kafka/index.ts';
import { kafkaEventRecordJson, kafkaHandleOf } from '../connectors/kafka/kafka-event.ts';
import type { SettleOutcome } from '../src/connectors/types.ts';
import { MappingRunner } from '../src/engine/mapping-runner.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { MappingMetrics } from '../src/observability/mapping-metrics.ts';
import { describeCpu, startCpuMeter } from './lib/cpu-meter.ts';
import { OffsetDeliveryCount } from './lib/offset-delivery-count.ts';
import { fingerprint } from './lib/fingerprint.ts';
import { report } from './lib/results.ts';
import { round, summarize } from './lib/stats.ts';

const BROKERS = (process.env.SLUICE_BENCH_KAFKA_BROKERS ?? '127.0.0.1:19092').split(',');
const RECORDS = Number(process.env.BENCH_KAFKA_RECORDS ?? 300_000);
const ROUNDS = Number(process.env.BENCH_KAFKA_ROUNDS ?? 2);
const LATENCY_SECONDS = Number(process.env.BENCH_KAFKA_LATENCY_SECONDS ?? 10);
const PARTITIONS = 6;
/** Lanes to run (`raw,work,b100,b500`); one alone is for profiling and writes no report. */
const LANES = new Set((process.env.BENCH_KAFKA_LANES ?? 'raw,work,b100,b500').split(','));
const VALUE = JSON.stringify({ pad: 'x'.repeat(100) });
const kafka = () =>
  new Kafka({ clientId: 'sluice-bench', brokers: BROKERS, logLevel: logLevel.NOTHING });
const unique = (p: string) =>
  `${p}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;

async function produce(topic: string, count: number): Promise<void> {
  const producer = kafka().producer();
  await producer.connect();
  const chunk = 2000;
  for (let i = 0; i < count; i += chunk) {
    const n = Math.min(chunk, count - i);
    await producer.send({
      topic,
      messages: Array.from({ length: n }, (_, j) => ({
        partition: (i + j) % PARTITIONS,
        value: VALUE,
      })),
    });
  }
  await producer.disconnect();
}

/**
 * Records/s of a bare kafkajs eachBatch consumer reading the whole topic. `withEventWork` adds,
 * in-process, the per-record work any Lambda-style delivery needs and the no-op lane skips: the
 * event JSON of each record (base64 key/value, `SelfManagedKafka` envelope, batches of 100) and
 * the function's `JSON.parse` of it — a floor for the engine without processes or sockets.
 */
async function raw(topic: string, withEventWork = false): Promise<number> {
  const consumer = kafka().consumer({ groupId: unique('bench-raw'), maxWaitTimeInMs: 250 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const count = new OffsetDeliveryCount();
  let started = 0;
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachBatch: async ({ batch }) => {
          if (started === 0) started = performance.now();
          if (withEventWork) {
            for (let i = 0; i < batch.messages.length; i += 100) {
              const parts = batch.messages
                .slice(i, i + 100)
                .map((m) => kafkaEventRecordJson(batch.topic, batch.partition, m));
              const event = `{"eventSource":"SelfManagedKafka","bootstrapServers":"b","records":{"${batch.topic}-${batch.partition}":[${parts.join(',')}]}}`;
              JSON.parse(Buffer.from(event).toString('utf8'));
            }
          }
          for (const m of batch.messages) count.add(batch.partition, Number(m.offset));
          if (count.unique >= RECORDS) resolve();
        },
      })
      .catch(reject);
  });
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  if (count.duplicates > 0) process.stderr.write(`  raw lane: ${count.duplicates} duplicates\n`);
  return RECORDS / seconds;
}

interface EngineRun {
  runner: MappingRunner;
  /** Distinct records settled (each once at least). */
  settled: () => number;
  duplicates: () => number;
  latenciesMs: number[];
  firstSettleAt: () => number;
  /** Starts one warm environment per partition (the most batches in flight) before timing. */
  warm(): Promise<void>;
  stop(): Promise<void>;
}

function engine(
  topic: string,
  batchSize: number,
  windowMs: number,
  measureLatency: boolean,
): EngineRun {
  const { invoker, pool } = noopInvoker('noop', { spec: { memorySizeMb: 256 } });
  const logger = silentLogger();
  const connector = new KafkaConnector({
    name: 'bench',
    topic,
    consumerGroupId: unique('bench-engine'),
    startingPosition: 'TRIM_HORIZON',
    bootstrapServers: BROKERS,
    batchSize,
    retry: {
      maximumRetryAttempts: Number.POSITIVE_INFINITY,
      maximumRecordAgeMs: Number.POSITIVE_INFINITY,
      bisectBatchOnFunctionError: false,
    },
    client: new KafkajsSourceClient(kafka()),
    // BENCH_KAFKA_COMMIT_INTERVAL_MS=0 commits after every batch (the behaviour before coalescing).
    ...(process.env.BENCH_KAFKA_COMMIT_INTERVAL_MS === undefined
      ? {}
      : { tuning: { commitIntervalMs: Number(process.env.BENCH_KAFKA_COMMIT_INTERVAL_MS) } }),
    failureSink: new KafkaFailureSink({
      destination: undefined,
      functionArn: 'arn',
      bootstrapServers: BROKERS.join(','),
      logger,
    }),
  });
  const count = new OffsetDeliveryCount();
  let firstSettleAt = 0;
  const latenciesMs: number[] = [];
  const settle = connector.settle.bind(connector);
  connector.settle = async (outcome: SettleOutcome) => {
    await settle(outcome);
    const now = Date.now();
    if (firstSettleAt === 0) firstSettleAt = performance.now();
    for (const r of outcome.succeeded) {
      const { partition, offset } = kafkaHandleOf(r);
      count.add(partition, Number(offset));
    }
    if (measureLatency) for (const r of outcome.succeeded) latenciesMs.push(now - r.timestampMs);
  };
  const runner = new MappingRunner({
    settings: {
      name: 'bench',
      functionName: 'noop',
      enabled: true,
      batchSize,
      maximumBatchingWindowMs: windowMs,
      reportBatchItemFailures: false,
      maximumConcurrency: undefined,
      adaptiveConcurrency: process.env.BENCH_KAFKA_ADAPTIVE !== '0',
      // As the mapping manager sets it for Kafka: every partition at once to start with.
      initialInvokeConcurrency: Number.POSITIVE_INFINITY,
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
  return {
    runner,
    settled: () => count.unique,
    duplicates: () => count.duplicates,
    latenciesMs,
    firstSettleAt: () => firstSettleAt,
    warm: () => pool.provision('noop', PARTITIONS),
    async stop() {
      await runner.stop(10_000);
      await pool.stop();
    },
  };
}

/** Records/s through the engine, from the first settled batch to the last record. */
async function throughput(topic: string, batchSize: number): Promise<number> {
  const run = engine(topic, batchSize, 500, false);
  // Cold starts (a process spawn each, blocking the event loop) are not what this measures.
  await run.warm();
  await run.runner.start();
  while (run.settled() < RECORDS) await sleep(20);
  const seconds = (performance.now() - run.firstSettleAt()) / 1000;
  if (run.duplicates() > 0)
    process.stderr.write(`  engine b${batchSize}: ${run.duplicates()} duplicates\n`);
  await run.stop();
  // The first batch is not timed (as the raw consumer's first batch): count the rest.
  return (RECORDS - batchSize) / seconds;
}

async function latency(rate: number): Promise<ReturnType<typeof summarize>> {
  const admin = kafka().admin();
  await admin.connect();
  const topic = unique('bench-kafka-latency');
  await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS }],
    waitForLeaders: true,
  });
  const run = engine(topic, 100, 0, true);
  await run.warm();
  await run.runner.start();
  await sleep(2000); // group joined, environments warm on the first records
  const producer = kafka().producer();
  await producer.connect();
  const tickMs = 20;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const until = performance.now() + LATENCY_SECONDS * 1000;
  let sent = 0;
  for (let next = performance.now(); performance.now() < until; next += tickMs) {
    await producer.send({
      topic,
      messages: Array.from({ length: perTick }, (_, j) => ({
        partition: (sent + j) % PARTITIONS,
        value: VALUE,
      })),
    });
    sent += perTick;
    await sleep(Math.max(0, next + tickMs - performance.now()));
  }
  while (run.settled() < sent) await sleep(20);
  await producer.disconnect();
  await run.stop();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  return summarize(run.latenciesMs);
}

async function main(): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  const topic = unique('bench-kafka');
  await admin.createTopics({
    topics: [{ topic, numPartitions: PARTITIONS }],
    waitForLeaders: true,
  });
  await produce(topic, RECORDS);
  const rawRates: number[] = [];
  const rawWork: number[] = [];
  const b100: number[] = [];
  const b500: number[] = [];
  /** Runs one lane and prints its CPU split (engine / functions / broker). */
  const metered = async (lane: string, run: () => Promise<number>): Promise<number> => {
    const meter = startCpuMeter();
    const rate = await run();
    process.stderr.write(`  ${lane}: ${round(rate, 0)} rec/s; ${describeCpu(meter(), RECORDS)}\n`);
    return rate;
  };
  for (let i = 0; i < ROUNDS; i++) {
    if (LANES.has('raw')) rawRates.push(await metered('raw', () => raw(topic)));
    if (LANES.has('work')) rawWork.push(await metered('raw + event work', () => raw(topic, true)));
    if (LANES.has('b100')) b100.push(await metered('engine b100', () => throughput(topic, 100)));
    if (LANES.has('b500')) b500.push(await metered('engine b500', () => throughput(topic, 500)));
  }
  if (LANES.has('raw')) rawRates.push(await metered('raw', () => raw(topic)));
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
  if ([rawRates, rawWork, b100, b500].some((lane) => lane.length === 0)) {
    process.stderr.write('some lanes skipped (BENCH_KAFKA_LANES): no report written\n');
    return;
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const floor = mean(rawRates);
  const workFloor = mean(rawWork);
  const e100 = mean(b100);
  const e500 = mean(b500);
  const lat = await latency(e100 / 2);
  const data = {
    fingerprint: fingerprint({ kafkaBrokers: BROKERS.join(',') }),
    records: RECORDS,
    partitions: PARTITIONS,
    rawEachBatchRecordsPerS: rawRates.map((r) => round(r, 0)),
    rawWithEventWorkRecordsPerS: rawWork.map((r) => round(r, 0)),
    rawWithEventWorkPercentOfRaw: round((100 * workFloor) / floor, 1),
    batch100PercentOfEventWork: round((100 * e100) / workFloor, 1),
    batch500PercentOfEventWork: round((100 * e500) / workFloor, 1),
    engineBatch100RecordsPerS: b100.map((r) => round(r, 0)),
    engineBatch500RecordsPerS: b500.map((r) => round(r, 0)),
    batch100PercentOfRaw: round((100 * e100) / floor, 1),
    batch500PercentOfRaw: round((100 * e500) / floor, 1),
    latencyAtHalfSaturation: { rateRecordsPerS: round(e100 / 2, 0), windowMs: 0, ms: lat },
  };
  const table = [
    `### Kafka connector (${data.fingerprint.cpu}, Node ${process.version}, ${RECORDS} records, ${PARTITIONS} partitions)`,
    '',
    '| Measure | Value | % of raw kafkajs eachBatch | % of raw + event work | Target |',
    '|---|---|---|---|---|',
    `| Raw kafkajs eachBatch consumer, no-op (floor, mean of ${rawRates.length}) | ${round(floor, 0)} records/s | 100 | | |`,
    `| Raw kafkajs eachBatch + event JSON and parse per record, in-process (mean of ${ROUNDS}) | ${round(workFloor, 0)} records/s | ${data.rawWithEventWorkPercentOfRaw} | 100 | |`,
    `| Engine, batch 100, no-op function (mean of ${ROUNDS}) | ${round(e100, 0)} records/s | ${data.batch100PercentOfRaw} | ${data.batch100PercentOfEventWork} | ≥ 90 % |`,
    `| Engine, batch 500, no-op function (mean of ${ROUNDS}) | ${round(e500, 0)} records/s | ${data.batch500PercentOfRaw} | ${data.batch500PercentOfEventWork} | ≥ 90 % |`,
    `| End-to-end latency at ${round(e100 / 2, 0)} records/s (batch 100, window 0) | p50 ${round(lat.p50, 1)} ms, p99 ${round(lat.p99, 1)} ms | | | |`,
    '',
    'The no-op floor only decodes record batches; every delivery also serialises each record',
    '(base64 key/value, event JSON) and the function parses it, which alone keeps an in-process',
    'consumer near the second row. The engine adds a process hop per batch (Runtime API over',
    'loopback HTTP, one batch in flight per partition) on the same 2 cores as the broker.',
  ].join('\n');
  report('kafka', data, table);
}

await main();
