/**
 * RabbitMQ connector throughput (issue 7): messages/s through the whole engine (connector →
 * MappingRunner → Invoker → a no-op Node function → ack) as a % of a raw amqplib consumer (prefetch,
 * manual ack per message) on the same queue in the same run. Target ≥ 90%.
 *
 * Lanes: the raw consumer, then the engine at each lane of BENCH_RMQ_BATCHES (default `100,500,100f`:
 * batch 100 — Lambda's default for Amazon MQ — and 500 with the throughput tuner picking invokes in
 * flight (scalingConfig.adaptiveConcurrency, the default), and batch 100 with invokes always at
 * maximumConcurrency as Lambda runs them — an `f` suffix), alternating round by round on one queue refilled
 * before each lane; a warm-up round is discarded and medians are reported. The raw consumer's
 * prefetch is the largest engine lane's (batchSize × maximumConcurrency), so it is never the one
 * starved. Needs a RabbitMQ: `npm run brokers -- up`, or set SLUICE_BENCH_RABBITMQ_URL. Env:
 * BENCH_RMQ_MESSAGES (default 200 000: a round lasts seconds, as the tuner needs a few hundred ms
 * a level to find its level — it is part of every round), BENCH_RMQ_ROUNDS (5), BENCH_RMQ_BATCHES,
 * BENCH_RMQ_CONCURRENCY (8), BENCH_RMQ_WINDOW_MS (500, Lambda's default), BENCH_RMQ_LANES
 * (raw,engine: one alone is for profiling), BENCH_PIN=1 (the broker on a CPU of its own, see
 * lib/pin-cpus.ts; writes results/rabbitmq-pinned.*).
 */
import { noopInvoker } from './lib/noop-invoker.ts';
import { DestinationFactory } from '../src/destinations/destination-factory.ts';
import { connect, type ChannelModel } from 'amqplib';
import { Registry } from 'prom-client';
import { rabbitMqBundle } from '../connectors/rabbitmq/index.ts';
import type { RabbitMqMappingConfig } from '../connectors/rabbitmq/rabbitmq-config.ts';
import type { SluiceConfig } from '../src/config/types.ts';
import { SOURCE_PLUGINS } from '../src/app/plugins.ts';
import { ConnectionRegistry } from '../src/connections/connections.ts';
import { runnerSettings } from '../src/engine/mapping-manager.ts';
import { MappingRunner } from '../src/engine/mapping-runner.ts';
import type { Invoker } from '../src/invoker/invoker.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { MappingMetrics } from '../src/observability/mapping-metrics.ts';
import { fingerprint } from './lib/fingerprint.ts';
import { report } from './lib/results.ts';
import { describeCpu, startCpuMeter } from './lib/cpu-meter.ts';
import { DeliveryCount } from './lib/delivery-count.ts';
import { round, summarize } from './lib/stats.ts';
import { pinBrokerApart } from './lib/pin-cpus.ts';

const URL_ =
  process.env.SLUICE_BENCH_RABBITMQ_URL ??
  process.env.SLUICE_TEST_RABBITMQ_URL ??
  'amqp://guest:guest@127.0.0.1:5682';
const MESSAGES = Number(process.env.BENCH_RMQ_MESSAGES ?? 200_000);
const ROUNDS = Number(process.env.BENCH_RMQ_ROUNDS ?? 5);
/** Engine lanes: a batch size, `f` = fixed concurrency (adaptiveConcurrency false). */
const LANE_SPECS = (process.env.BENCH_RMQ_BATCHES ?? process.env.BENCH_RMQ_BATCH ?? '100,500,100f')
  .split(',')
  .map((spec) => ({ spec, batchSize: Number.parseInt(spec, 10), adaptive: !spec.endsWith('f') }));
const BATCHES = LANE_SPECS.map((l) => l.batchSize);
const CONCURRENCY = Number(process.env.BENCH_RMQ_CONCURRENCY ?? 8);
const WINDOW_MS = Number(process.env.BENCH_RMQ_WINDOW_MS ?? 500);
const PREFETCH = Math.max(...BATCHES) * CONCURRENCY;
/** Lanes to run (one alone is for profiling); the report needs both. */
const LANES = new Set((process.env.BENCH_RMQ_LANES ?? 'raw,engine').split(','));
/** Messages settled per lane by messageId: a round ends when each was handled once. */
const counts = { raw: new DeliveryCount(), engine: new DeliveryCount() };
/** Batches settled by the engine lane in the current round (the mean batch size is printed). */
const batches = { engine: 0 };
/** Invokes in flight the tuner had settled on when the engine lane's round ended. */
let endLimit = 0;
const BODY = Buffer.from(JSON.stringify({ type: 'order', pad: 'x'.repeat(200) }));

async function fill(conn: ChannelModel, queue: string): Promise<void> {
  const ch = await conn.createConfirmChannel();
  for (let i = 0; i < MESSAGES; i += 5000) {
    for (let j = i; j < Math.min(MESSAGES, i + 5000); j++)
      ch.sendToQueue(queue, BODY, { persistent: false, messageId: `m-${j}` });
    await ch.waitForConfirms();
  }
  await ch.close();
}

/** Raw amqplib: prefetch, manual ack of each message as it arrives. Returns messages/s. */
async function rawRound(conn: ChannelModel, queue: string): Promise<number> {
  const ch = await conn.createChannel();
  await ch.prefetch(PREFETCH);
  const start = performance.now();
  await new Promise<void>((resolve) => {
    void ch.consume(queue, (msg) => {
      if (!msg) return;
      ch.ack(msg);
      counts.raw.add([String(msg.properties.messageId)]);
      if (counts.raw.unique === MESSAGES) resolve();
    });
  });
  const seconds = (performance.now() - start) / 1000;
  await ch.close();
  return MESSAGES / seconds;
}

async function engineRound(
  queue: string,
  invoker: Invoker,
  fn: string,
  batchSize: number,
  adaptive: boolean,
): Promise<number> {
  const logger = silentLogger();
  const mapping: RabbitMqMappingConfig = {
    type: 'rabbitmq',
    name: 'bench',
    functionName: fn,
    enabled: true,
    batchSize,
    maximumBatchingWindowMs: WINDOW_MS,
    filters: [],
    reportBatchItemFailures: false,
    maximumConcurrency: CONCURRENCY,
    adaptiveConcurrency: adaptive,
    pollerGrowthFactor: 2,
    pollers: undefined,
    source: { connection: 'rmq', queue, virtualHost: '/' },
    maximumRetryAttempts: Number.POSITIVE_INFINITY,
    onFailure: undefined,
  };
  const connection = { type: 'rabbitmq' as const, name: 'rmq', url: URL_ };
  const connections = new ConnectionRegistry({ rmq: connection }, logger);
  const config = {
    region: 'us-east-1',
    accountId: '000000000000',
    connections: { rmq: connection },
  } as unknown as SluiceConfig;
  // Function destinations need the engine's async queue; these mappings use broker ones only.
  const destinations = new DestinationFactory(
    connections,
    {
      enqueue: () => Promise.reject(new Error('no async queue here')),
    },
    SOURCE_PLUGINS,
  );
  const bundle = rabbitMqBundle(mapping, { config, logger, destinations });
  const metrics = new MappingMetrics(new Registry());
  const runner = new MappingRunner({
    settings: { ...runnerSettings(mapping, SOURCE_PLUGINS), idleWaitMs: bundle.idleWaitMs ?? 2000 },
    connector: bundle.connector,
    invoker,
    logger,
    metrics,
    // Start at full concurrency: the comparison is steady-state throughput, not ramp-up.
    scaling: { initial: CONCURRENCY },
  });
  const count = counts.engine;
  const settle = bundle.connector.settle.bind(bundle.connector);
  bundle.connector.settle = async (outcome) => {
    batches.engine += 1;
    await settle(outcome);
    count.add(outcome.succeeded.map((r) => r.id));
  };
  const start = performance.now();
  await runner.start();
  while (count.unique < MESSAGES) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - start) / 1000;
  endLimit = runner.status().invokeLimit;
  await runner.stop(5000);
  await connections.stop();
  return MESSAGES / seconds;
}

async function main(): Promise<void> {
  // Before anything is spawned: function processes inherit this process's CPUs.
  const pin = pinBrokerApart('beam.smp');
  try {
    await measure(pin.label);
  } finally {
    pin.restore();
  }
}

async function measure(placement: string): Promise<void> {
  const conn = await connect(URL_);
  const admin = await conn.createChannel();
  const queue = `bench-${Date.now().toString(36)}`;
  await admin.assertQueue(queue, { durable: false });
  const fn = 'rmq-bench-noop';
  const { invoker, pool } = noopInvoker(fn);
  // Warm environments so cold starts are not measured.
  await pool.provision(fn, CONCURRENCY);
  const raw: number[] = [];
  const engine = new Map<string, number[]>(LANE_SPECS.map((l) => [l.spec, []]));
  const duplicates = { raw: 0, engine: 0 };
  try {
    // Round 0 warms the broker, the JIT and the environments; it is not reported.
    for (let r = 0; r <= ROUNDS; r++) {
      if (LANES.has('raw')) {
        counts.raw = new DeliveryCount();
        await fill(conn, queue);
        const meter = startCpuMeter();
        const rate = await rawRound(conn, queue);
        if (r > 0) raw.push(rate);
        process.stderr.write(
          `  round ${r} raw: ${round(rate, 0)}/s; ${describeCpu(meter(), MESSAGES)}; ` +
            `${counts.raw.duplicates} duplicates\n`,
        );
        duplicates.raw += counts.raw.duplicates;
      }
      if (!LANES.has('engine')) continue;
      for (const { spec, batchSize, adaptive } of LANE_SPECS) {
        counts.engine = new DeliveryCount();
        batches.engine = 0;
        await fill(conn, queue);
        const meter = startCpuMeter();
        const rate = await engineRound(queue, invoker, fn, batchSize, adaptive);
        if (r > 0) engine.get(spec)?.push(rate);
        process.stderr.write(
          `  round ${r} b${spec}: ${round(rate, 0)}/s; ${describeCpu(meter(), MESSAGES)}; ` +
            `${counts.engine.duplicates} duplicates; ` +
            `mean batch ${round(MESSAGES / Math.max(1, batches.engine), 1)}; ` +
            `invokes at once at the end ${endLimit}\n`,
        );
        duplicates.engine += counts.engine.duplicates;
      }
    }
  } finally {
    await admin.deleteQueue(queue).catch(() => undefined);
    await conn.close().catch(() => undefined);
    await pool.stop();
  }
  if (raw.length === 0 || !LANES.has('engine')) {
    process.stderr.write('some lanes skipped (BENCH_RMQ_LANES): no report written\n');
    return;
  }
  const median = (v: number[]) => summarize(v).p50;
  const rawMedian = median(raw);
  const lanes = LANE_SPECS.map(({ spec, batchSize, adaptive }) => {
    const rates = engine.get(spec) ?? [];
    return {
      batchSize,
      adaptiveConcurrency: adaptive,
      messagesPerSecond: rates.map((v) => round(v, 0)),
      median: round(median(rates), 0),
      percentOfRaw: round((median(rates) / rawMedian) * 100, 1),
    };
  });
  const data = {
    fingerprint: fingerprint(),
    messages: MESSAGES,
    rounds: ROUNDS,
    maximumConcurrency: CONCURRENCY,
    prefetchRaw: PREFETCH,
    rawMessagesPerSecond: raw.map((v) => round(v, 0)),
    rawMedian: round(rawMedian, 0),
    engine: lanes,
    duplicates,
    placement,
  };
  const table = [
    `### RabbitMQ connector throughput (${data.fingerprint.cpu}, Node ${process.version})`,
    '',
    `${MESSAGES} messages of ${BODY.length} B per lane and round, ${ROUNDS} rounds after a warm-up (lanes alternate), medians; raw prefetch ${PREFETCH}; engine (connector → runner → invoke → ack): maximumConcurrency ${CONCURRENCY}, prefetch batchSize × ${CONCURRENCY}, window ${WINDOW_MS} ms, no-op Node function; ${placement}.`,
    '',
    '| Consumer | median msg/s | rounds | vs raw | Target |',
    '|---|---|---|---|---|',
    `| Raw amqplib (manual ack per message) | ${data.rawMedian} | ${data.rawMessagesPerSecond.join(', ')} | 100% | |`,
    ...lanes.map(
      (l) =>
        `| sluice engine, batch ${l.batchSize}, ${l.adaptiveConcurrency ? 'tuned concurrency' : `always ${CONCURRENCY} at once (Lambda)`} | ${l.median} | ${l.messagesPerSecond.join(', ')} | ${l.percentOfRaw}% | ≥ 90% |`,
    ),
  ].join('\n');
  report(process.env.BENCH_PIN === '1' ? 'rabbitmq-pinned' : 'rabbitmq', data, table);
}

await main();
