/**
 * `npm run soak`: the chaos soak. For each source (SQS, Kafka with 4 partitions, RabbitMQ — each
 * on its own second broker instance — and async `Event` invokes through the Invoke API) a real
 * `sluice start` worker consumes while records are sent; the worker is SIGKILLed at random moments
 * and restarted, the broker frozen or killed for a while. Prints per source what was sent,
 * processed, lost, duplicated (against what the worker held before each kill), the drain time and
 * the orphaned function processes. Exits 0 only when every source meets the goals. Every wait is
 * bounded and an overall timeout ends the run; brokers, workers and functions are cleaned up on
 * any exit (Ctrl-C included). Parameters: see `options()` (environment variables).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { secondInstance, type SecondInstance } from '../../test/brokers/second-instance.ts';
import { freePort, soakSource, type SoakPlan, type SourceResult, type SourceRun } from './chaos.ts';
import type { SourceKind } from './metrics.ts';
import { table, verdictOf } from './report.ts';
import {
  asyncSource,
  kafkaSource,
  rabbitmqSource,
  sqsSource,
  type OutageKind,
  type SoakSource,
} from './sources.ts';
import { reapMarked, type SoakWorker } from './worker.ts';

const num = (name: string, fallback: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
};

function options() {
  const kills = num('SOAK_KILLS', 15);
  const outages = num('SOAK_OUTAGES', 2);
  const outageMs = num('SOAK_OUTAGE_MS', 20_000);
  return {
    sources: (process.env.SOAK_SOURCES ?? 'sqs,kafka,rabbitmq,async').split(',') as SourceKind[],
    records: num('SOAK_RECORDS', 20_000),
    kills,
    outages,
    outageMs,
    // Long enough for the kills to be seconds apart and each outage (+ a broker restart) to fit
    // between its neighbours.
    sendMs: num('SOAK_SEND_MS', Math.max(kills * 6_000, (outages + 1) * (outageMs + 15_000))),
    drainLimitMs: num('SOAK_DRAIN_LIMIT_MS', 120_000),
    quietMs: num('SOAK_QUIET_MS', 12_000),
    // Long enough that batches are in the function when the kills come.
    workMs: num('SOAK_WORK_MS', 100),
    // Async events are invoked one at a time: at 100 ms, 20 at once cap them at 200/s against
    // the 190/s sent, so every restart's pause became a backlog drained at 194/s (50 s in the
    // first full run) — the function's ceiling measured, not sluice's recovery.
    asyncWorkMs: num('SOAK_ASYNC_WORK_MS', 20),
    visibilityTimeoutS: num('SOAK_VISIBILITY_TIMEOUT_S', 10),
    timeoutMs: num('SOAK_TIMEOUT_MS', 45 * 60_000),
    seed: num('SOAK_SEED', Date.now() % 1_000_000),
  };
}

/** mulberry32: a seeded random, so a run's kill moments can be repeated with SOAK_SEED. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OUTAGES: Record<string, OutageKind[]> = {
  // ElasticMQ keeps its queues in memory: a kill would lose them, so its outage is a hang.
  sqs: ['freeze'],
  kafka: ['kill', 'freeze'],
  rabbitmq: ['freeze', 'kill'],
};

const log = (line: string) =>
  console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}`);

const live: { worker?: SoakWorker; broker?: SecondInstance; runId: string } = {
  runId: randomUUID(),
};

async function cleanup(): Promise<void> {
  await live.worker?.kill().catch(() => 0);
  reapMarked(live.runId);
  await live.broker?.destroy().catch(() => undefined);
}

async function buildSource(
  kind: SourceKind,
  o: ReturnType<typeof options>,
): Promise<{ source: SoakSource; broker?: SecondInstance; port?: number }> {
  if (kind === 'async') {
    const port = await freePort();
    return { source: asyncSource(port), port };
  }
  const broker = secondInstance(kind);
  live.broker = broker;
  log(`starting the second ${kind} instance (${broker.address})`);
  await broker.start();
  const source =
    kind === 'sqs'
      ? sqsSource(broker.address, { visibilityTimeoutS: o.visibilityTimeoutS, batchSize: 10 })
      : kind === 'kafka'
        ? kafkaSource(broker.address, { batchSize: 100, partitions: 4 })
        : rabbitmqSource(broker.address, { batchSize: 50 });
  return { source, broker };
}

async function runOne(
  kind: SourceKind,
  o: ReturnType<typeof options>,
  base: string,
  plan: SoakPlan,
): Promise<SourceResult | string> {
  const dir = join(base, kind);
  mkdirSync(dir, { recursive: true });
  try {
    const { source, broker, port } = await buildSource(kind, o);
    await source.setup();
    const run: SourceRun = {
      source,
      broker,
      outageKinds: OUTAGES[kind] ?? [],
      dir,
      runId: live.runId,
      port,
    };
    try {
      return await soakSource(
        run,
        {
          ...plan,
          outages: broker ? plan.outages : 0,
          workMs: kind === 'async' ? o.asyncWorkMs : o.workMs,
        },
        { onWorker: (w) => (live.worker = w) },
      );
    } finally {
      await source.teardown().catch(() => undefined);
    }
  } catch (err) {
    return `${kind}: ${(err as Error).stack ?? String(err)}`;
  } finally {
    await cleanup();
    live.worker = undefined;
    live.broker = undefined;
  }
}

async function main(): Promise<number> {
  const o = options();
  const base = mkdtempSync(join(tmpdir(), 'sluice-soak-'));
  log(`run ${live.runId} in ${base}: ${JSON.stringify(o)}`);
  const plan: SoakPlan = { ...o, random: seeded(o.seed), log };
  const results: SourceResult[] = [];
  const failures: string[] = [];
  for (const kind of o.sources) {
    log(`— ${kind} —`);
    const startedAt = Date.now();
    const r = await runOne(kind, o, base, plan);
    if (typeof r === 'string') failures.push(r);
    else results.push(r);
    log(`${kind} done in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  }
  const text = table(results);
  console.log(`\n${text}\n`);
  for (const f of failures) console.log(`FAILED TO RUN: ${f}`);
  const resultsDir = resolve(import.meta.dirname, '../results');
  writeFileSync(
    join(resultsDir, 'soak.json'),
    JSON.stringify({ options: o, results, failures }, null, 2),
  );
  writeFileSync(join(resultsDir, 'soak.md'), `${text}\n`);
  log(`logs and records in ${base}`);
  return failures.length === 0 && results.every((r) => verdictOf(r).ok) ? 0 : 1;
}

const overall = setTimeout(() => {
  log(`overall timeout (${options().timeoutMs} ms): cleaning up`);
  void cleanup().finally(() => process.exit(2));
}, options().timeoutMs);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
main()
  .then((code) => {
    clearTimeout(overall);
    process.exit(code);
  })
  .catch(async (err: unknown) => {
    console.error(err);
    await cleanup();
    process.exit(1);
  });
