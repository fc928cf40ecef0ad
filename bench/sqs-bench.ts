/**
 * SQS mapping throughput (issue 5): records/s through the whole engine (SqsConnector →
 * MappingRunner → Invoker → a no-op Node function → DeleteMessageBatch) with batch 10 and batch
 * 100, as a % of a raw @aws-sdk/client-sqs consumer doing receive + delete-batch with the same
 * number of receive loops, on the same ElasticMQ in the same run. Target ≥ 90%.
 *
 * Each round pre-loads N messages and drains them, alternating raw / engine-10 / engine-100;
 * medians are reported. Needs an ElasticMQ: `npm run brokers -- up`, or set
 * SLUICE_BENCH_SQS_ENDPOINT. Env: BENCH_SQS_MESSAGES (default 20 000), BENCH_SQS_ROUNDS (3),
 * BENCH_SQS_LOOPS (receive loops = engine pollers, default 10), BENCH_SQS_LANES (default
 * `raw,b10,b100,b10f`; one lane alone is for profiling). The engine lanes run with the throughput
 * tuner (scalingConfig.adaptiveConcurrency, the default) except `b10f`: batch 10 with invokes
 * always at maximumConcurrency, as Lambda runs them. Rounds last a few seconds (60,000 messages by
 * default) because the tuner's search for its level is part of every round.
 */
import { noopInvoker } from './lib/noop-invoker.ts';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { Registry } from 'prom-client';
import { SqsConnector } from '../connectors/sqs/index.ts';
import type { Connector, SettleOutcome } from '../src/connectors/types.ts';
import { MappingRunner } from '../src/engine/mapping-runner.ts';
import type { Invoker } from '../src/invoker/invoker.ts';
import { silentLogger } from '../src/observability/logger.ts';
import { MappingMetrics } from '../src/observability/mapping-metrics.ts';
import { describeCpu, startCpuMeter } from './lib/cpu-meter.ts';
import { DeliveryCount } from './lib/delivery-count.ts';
import { fingerprint } from './lib/fingerprint.ts';
import { report } from './lib/results.ts';
import { round, summarize } from './lib/stats.ts';

const ENDPOINT =
  process.env.SLUICE_BENCH_SQS_ENDPOINT ??
  process.env.SLUICE_TEST_SQS_ENDPOINT ??
  'http://127.0.0.1:19324';
const MESSAGES = Number(process.env.BENCH_SQS_MESSAGES ?? 60_000);
const ROUNDS = Number(process.env.BENCH_SQS_ROUNDS ?? 3);
const LOOPS = Number(process.env.BENCH_SQS_LOOPS ?? 10);
/** Lanes to run (for profiling one of them); the report needs all three. */
const LANES = new Set((process.env.BENCH_SQS_LANES ?? 'raw,b10,b100,b10f').split(','));
const BODY = JSON.stringify({ type: 'order', pad: 'x'.repeat(200) });
const FN = 'sqs-bench-noop';
/**
 * Long-poll wait of both consumers. It does not matter while the queue is full (a receive answers
 * at once); kept short so the receives a lane leaves open at the end (the engine's stop aborts
 * them client-side, and the broker keeps them) are over before the next lane's messages arrive.
 */
const WAIT_SECONDS = 1;

const sqs = new SQSClient({
  endpoint: ENDPOINT,
  region: 'us-east-1',
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
});

async function fill(queueUrl: string): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < MESSAGES) {
      const from = next;
      next += 10;
      const n = Math.min(10, MESSAGES - from);
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: n }, (_, i) => ({ Id: String(i), MessageBody: BODY })),
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

interface Rates {
  /** Records/s until 90 % were settled: the steady state. */
  steady: number;
  /** Records/s for the whole round, tail included. */
  whole: number;
  /** Records settled more than once (the round ends when every record was settled once). */
  duplicates: number;
  /** Engine lanes: invokes at once the tuner had reached when the round ended. */
  invokesAtOnceAtEnd?: number;
}

/**
 * Settled-record progress of one round. The steady rate stops the clock at 90 %: the tail of a
 * round measures how the last partial batches end (a batch-100 lane waits out its 1 s window
 * there; a stream never has that tail), not throughput. Both rates are reported.
 */
class Progress {
  readonly #total: number;
  #done = 0;
  #startedAt = 0;
  #at90 = 0;
  #atEnd = 0;
  constructor(total: number) {
    this.#total = total;
  }
  start(): void {
    this.#startedAt = performance.now();
  }
  add(n: number): void {
    this.#done += n;
    if (this.#at90 === 0 && this.#done >= this.#total * 0.9) this.#at90 = performance.now();
    if (this.#atEnd === 0 && this.#done >= this.#total) this.#atEnd = performance.now();
  }
  rates(): Omit<Rates, 'duplicates'> {
    const seconds = (t: number) => (t - this.#startedAt) / 1000;
    return {
      steady: (this.#total * 0.9) / seconds(this.#at90),
      whole: this.#total / seconds(this.#atEnd),
    };
  }
}

/**
 * Raw consumer: LOOPS loops of receive (10, long poll) then delete-batch. Returns records/s. Loops
 * are never aborted: a long poll cut off client-side stays open at the broker and would swallow
 * messages of the next lane (see the SQS connector's `#fetch`).
 */
async function rawRound(queueUrl: string): Promise<Rates> {
  const progress = new Progress(MESSAGES);
  const count = new DeliveryCount();
  let finish = () => undefined as void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const loop = async () => {
    while (count.unique < MESSAGES) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: WAIT_SECONDS,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) continue;
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      progress.add(count.add(messages.map((m) => m.MessageId ?? '')));
      if (count.unique >= MESSAGES) finish();
    }
  };
  progress.start();
  const loops = Array.from({ length: LOOPS }, loop);
  await done;
  const rates = { ...progress.rates(), duplicates: count.duplicates };
  await Promise.allSettled(loops);
  return rates;
}

/** Counts records deleted at the source, so a round ends when all N are settled. */
function counting(c: SqsConnector, onSucceeded: (ids: string[]) => void): Connector {
  // Delegates explicitly: the connector's methods use private fields, so no prototype tricks.
  return {
    kind: c.kind,
    get heartbeatIntervalMs() {
      return c.heartbeatIntervalMs;
    },
    start: () => c.start(),
    fetch: (request) => c.fetch(request),
    buildEvent: (records) => c.buildEvent(records),
    settle: async (outcome: SettleOutcome) => {
      await c.settle(outcome);
      onSucceeded(outcome.succeeded.map((r) => r.id));
    },
    heartbeat: (records) => c.heartbeat(records),
    health: () => c.health(),
    stop: () => c.stop(),
  };
}

async function engineRound(
  queueUrl: string,
  invoker: Invoker,
  batchSize: number,
  adaptiveConcurrency = true,
): Promise<Rates> {
  const progress = new Progress(MESSAGES);
  const count = new DeliveryCount();
  let finish = () => undefined as void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const sqsConnector = new SqsConnector({ mapping: { source: { queueUrl } }, client: sqs });
  const runner = new MappingRunner({
    settings: {
      name: `bench-${batchSize}`,
      functionName: FN,
      enabled: true,
      batchSize,
      // Lambda requires a window of ≥ 1 s for BatchSize > 10 on SQS; batch 10 runs without one.
      maximumBatchingWindowMs: batchSize > 10 ? 1000 : 0,
      reportBatchItemFailures: false,
      // Receive loops and function concurrency are separate axes (as in Lambda): LOOPS pollers,
      // each receiving its next batch while its previous one is invoked (pipeline depth 2).
      maximumConcurrency: 2 * LOOPS,
      adaptiveConcurrency,
      ordered: false,
      windowMode: 'caller',
      idleWaitMs: WAIT_SECONDS * 1000,
    },
    connector: counting(sqsConnector, (ids) => {
      progress.add(count.add(ids));
      if (count.unique >= MESSAGES) finish();
    }),
    invoker,
    logger: silentLogger(),
    metrics: new MappingMetrics(new Registry()),
    // Same number of receive loops as the raw consumer from the start: throughput, not ramp-up.
    scaling: { initial: LOOPS, minimum: LOOPS, maximum: LOOPS },
  });
  progress.start();
  await runner.start();
  await done;
  const rates = {
    ...progress.rates(),
    duplicates: count.duplicates,
    invokesAtOnceAtEnd: runner.status().invokeLimit,
  };
  await runner.stop(5000);
  // Let the receives the stop cut off expire at the broker before the next lane fills the queue.
  await new Promise((resolve) => setTimeout(resolve, WAIT_SECONDS * 1000 + 500));
  return rates;
}

async function main(): Promise<void> {
  const { invoker, pool } = noopInvoker(FN);
  // Warm environments so cold starts are not measured.
  await pool.provision(FN, 2 * LOOPS);
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({
      QueueName: `bench-${Date.now().toString(36)}`,
      Attributes: { VisibilityTimeout: '60' },
    }),
  );
  const queueUrl = QueueUrl as string;
  const lanes = {
    raw: {
      label: 'Raw client-sqs (receive 10 + DeleteMessageBatch)',
      results: [] as Rates[],
      cpu: [] as string[],
    },
    b10: {
      label: 'sluice engine, batch 10 (no-op Node function)',
      results: [] as Rates[],
      cpu: [] as string[],
    },
    b100: {
      label: 'sluice engine, batch 100, window 1 s',
      results: [] as Rates[],
      cpu: [] as string[],
    },
    b10f: {
      label: `sluice engine, batch 10, always ${2 * LOOPS} invokes at once allowed (Lambda)`,
      results: [] as Rates[],
      cpu: [] as string[],
    },
  };
  const run = {
    raw: () => rawRound(queueUrl),
    b10: () => engineRound(queueUrl, invoker, 10),
    b100: () => engineRound(queueUrl, invoker, 100),
    b10f: () => engineRound(queueUrl, invoker, 10, false),
  };
  try {
    // Warm-up (ElasticMQ's JIT, the SDK, the environments): one unmeasured round of raw and engine.
    await fill(queueUrl);
    await rawRound(queueUrl);
    await fill(queueUrl);
    await engineRound(queueUrl, invoker, 10);
    for (let r = 0; r < ROUNDS; r++) {
      for (const name of ['raw', 'b10', 'b100', 'b10f'] as const) {
        if (!LANES.has(name)) continue;
        await fill(queueUrl);
        const meter = startCpuMeter();
        const rates = await run[name]();
        const cpu = describeCpu(meter(), MESSAGES);
        lanes[name].results.push(rates);
        lanes[name].cpu.push(cpu);
        process.stderr.write(
          `round ${r + 1} ${name}: ${round(rates.steady, 0)}/s steady, ${round(rates.whole, 0)}/s whole, ${rates.duplicates} duplicates${rates.invokesAtOnceAtEnd === undefined ? '' : `, ${rates.invokesAtOnceAtEnd} invokes at once at the end`}; ${cpu}\n`,
        );
      }
    }
  } finally {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
    await pool.stop();
  }
  const median = (v: number[]) => (v.length === 0 ? 0 : summarize(v).p50);
  const steady = (name: keyof typeof lanes) => median(lanes[name].results.map((x) => x.steady));
  const whole = (name: keyof typeof lanes) => median(lanes[name].results.map((x) => x.whole));
  const pct = (a: number, b: number) => (b > 0 ? round((a / b) * 100, 1) : 0);
  const data = {
    fingerprint: fingerprint({ endpoint: ENDPOINT }),
    messages: MESSAGES,
    rounds: ROUNDS,
    receiveLoops: LOOPS,
    lanes: Object.fromEntries(
      Object.entries(lanes).map(([name, lane]) => [
        name,
        {
          steadyRecordsPerSecond: lane.results.map((x) => round(x.steady, 0)),
          wholeRoundRecordsPerSecond: lane.results.map((x) => round(x.whole, 0)),
          duplicates: lane.results.map((x) => x.duplicates),
          cpu: lane.cpu,
        },
      ]),
    ),
    engineBatch10ToRawPercent: pct(steady('b10'), steady('raw')),
    engineBatch100ToRawPercent: pct(steady('b100'), steady('raw')),
    engineBatch10ToRawWholeRoundPercent: pct(whole('b10'), whole('raw')),
    engineBatch100ToRawWholeRoundPercent: pct(whole('b100'), whole('raw')),
    engineBatch10FixedToRawPercent: pct(steady('b10f'), steady('raw')),
  };
  const row = (name: keyof typeof lanes) =>
    `| ${lanes[name].label} | ${round(steady(name), 0)} | ${name === 'raw' ? '100' : pct(steady(name), steady('raw'))}% | ${round(whole(name), 0)} (${name === 'raw' ? '100' : pct(whole(name), whole('raw'))}%) | ${lanes[name].cpu.at(-1) ?? ''} | ${name === 'raw' ? '' : '≥ 90%'} |`;
  const table = [
    `### SQS mapping throughput (${data.fingerprint.cpu}, Node ${process.version}, ElasticMQ)`,
    '',
    `${MESSAGES} messages of ${BODY.length} B pre-loaded per lane and round, ${ROUNDS} rounds (lanes alternate, after a warm-up round), ${LOOPS} receive loops in every lane; medians. Steady = until 90 % were settled; whole round = tail included (a batch-100 lane's last partial batches wait out the 1 s window). CPU: last round, from /proc.`,
    '',
    '| Consumer | steady records/s | vs raw | whole round records/s (vs raw) | CPU per 10k records | Target |',
    '|---|---|---|---|---|---|',
    row('raw'),
    row('b10'),
    row('b100'),
    row('b10f'),
  ].join('\n');
  report('sqs', data, table);
}

await main();
