/**
 * One source's soak: a worker consuming it while a producer sends, the worker SIGKILLed at random
 * moments and restarted, the source's broker frozen or killed for a while; then the drain, the
 * count, and the bound on duplicates from what the worker held before each kill.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { SecondInstance } from '../../test/brokers/second-instance.ts';
import { boundOf, scrapeHeld, type Held } from './metrics.ts';
import { MAPPING, type OutageKind, type SoakSource } from './sources.ts';
import { countLines, tally, type Tally } from './tally.ts';
import { SoakWorker, reapMarked, waitFor } from './worker.ts';

const RECORDER = resolve(import.meta.dirname, 'recorder');

export interface SoakPlan {
  records: number;
  kills: number;
  outages: number;
  outageMs: number;
  /** Time over which records are sent; kills are spread over it (and the outages). */
  sendMs: number;
  /** Longest wait for every record after the last restart. */
  drainLimitMs: number;
  /** Wait after the drain for late copies (longer than the visibility timeout). */
  quietMs: number;
  workMs: number;
  /** Random source, for the kill moments (seeded in tests if wanted). */
  random: () => number;
  log: (line: string) => void;
}

export interface SourceRun {
  source: SoakSource;
  /** The broker instance to freeze/kill; undefined = no outages (shared broker or async). */
  broker?: SecondInstance;
  outageKinds: OutageKind[];
  dir: string;
  runId: string;
  /** The worker's API port (the async source sends to it); a free one when unset. */
  port?: number;
}

export interface SourceResult extends Tally {
  kind: string;
  kills: number;
  outages: string[];
  /** Sum of what was held before every kill and outage: duplicates must stay at or below it. */
  heldBound: number;
  /** Records of sends retried after an unknown outcome (each may be stored twice). */
  ambiguousSends: number;
  /** Kills before the worker's API answered (what it held is unknown). */
  blindKills: number;
  drainMs: number | undefined;
  orphans: number;
  finalExit: number | null;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => res(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function workerYaml(
  source: SoakSource,
  o: { port: number; dir: string; runId: string; workMs: number },
): string {
  const connections = source.connectionYaml();
  const mappings = source.mappingYaml();
  return [
    'concurrency: { limit: 20 }',
    `api: { host: 127.0.0.1, port: ${o.port} }`,
    `storage: { path: ${JSON.stringify(join(o.dir, 'state.db'))} }`,
    'logging: { level: warn, format: json }',
    'functions:',
    '  soak:',
    '    runtime: nodejs22.x',
    '    handler: index.handler',
    `    code: ${JSON.stringify(RECORDER)}`,
    '    timeout: 60',
    '    environment:',
    `      RECORD_FILE: ${JSON.stringify(join(o.dir, 'processed.txt'))}`,
    `      WORK_MS: '${o.workMs}'`,
    `      SLUICE_SOAK_RUN: ${JSON.stringify(o.runId)}`,
    ...(connections ? ['connections:', connections] : []),
    ...(mappings ? ['mappings:', mappings] : []),
    '',
  ].join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends ids `<kind>-0 … <kind>-(n-1)` in chunks paced over `sendMs`; records what was stored. */
async function produce(
  run: SourceRun,
  plan: SoakPlan,
  sent: Set<string>,
  deadlineMs: number,
): Promise<number> {
  const { source } = run;
  const chunk = source.kind === 'async' ? 10 : source.kind === 'sqs' ? 10 : 50;
  const chunks = Math.ceil(plan.records / chunk);
  const startedAt = Date.now();
  let ambiguous = 0;
  for (let c = 0; c < chunks; c++) {
    const due = startedAt + (plan.sendMs * c) / chunks;
    if (due > Date.now()) await sleep(due - Date.now());
    const ids = Array.from(
      { length: Math.min(chunk, plan.records - c * chunk) },
      (_, i) => `${source.kind}-${c * chunk + i}`,
    );
    ambiguous += await source.send(ids, deadlineMs);
    for (const id of ids) sent.add(id);
  }
  return ambiguous;
}

interface Chaos {
  worker: SoakWorker;
  port: number;
  bound: number;
  blind: number;
  orphans: number;
  kills: number;
  lastRestartAtMs: number;
}

async function restart(chaos: Chaos, plan: SoakPlan): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await chaos.worker.start();
      chaos.lastRestartAtMs = Date.now();
      return;
    } catch (err) {
      plan.log(`  worker start failed (attempt ${attempt}): ${(err as Error).message}`);
      await chaos.worker.kill();
      if (attempt >= 3) throw err;
    }
  }
}

async function noteHeld(chaos: Chaos, run: SourceRun, what: string, plan: SoakPlan): Promise<Held> {
  const held = await scrapeHeld(chaos.port, run.source.kind, MAPPING, run.source.batchSize);
  if (!held.answered) chaos.blind += 1;
  chaos.bound += boundOf(held);
  plan.log(
    `  ${what}: held ${held.unsettled} unsettled, ${held.inFlightRecords} in flight${held.answered ? '' : ' (worker not answering)'}`,
  );
  return held;
}

/**
 * Kill k falls at a random moment of the k-th of `kills` equal slots of the send window, so the
 * last restart comes while records are still arriving and the drain after it is a real one.
 */
async function killLoop(chaos: Chaos, run: SourceRun, plan: SoakPlan): Promise<void> {
  const startedAt = Date.now();
  const slotMs = plan.sendMs / Math.max(1, plan.kills);
  for (let k = 1; k <= plan.kills; k++) {
    const dueAt = startedAt + slotMs * (k - 1 + plan.random());
    if (dueAt > Date.now()) await sleep(dueAt - Date.now());
    const upMs = Date.now() - chaos.lastRestartAtMs;
    await noteHeld(chaos, run, `kill ${k}/${plan.kills} (${upMs} ms after start)`, plan);
    chaos.orphans += await chaos.worker.kill();
    chaos.kills += 1;
    await restart(chaos, plan);
  }
}

async function outageLoop(
  chaos: Chaos,
  run: SourceRun,
  plan: SoakPlan,
  done: string[],
): Promise<void> {
  const broker = run.broker;
  if (!broker) return;
  const startedAt = Date.now();
  for (let j = 0; j < plan.outages; j++) {
    const kind = run.outageKinds[j % run.outageKinds.length] ?? 'freeze';
    const dueAt = startedAt + (plan.sendMs * (j + 1)) / (plan.outages + 1) - plan.outageMs / 2;
    if (dueAt > Date.now()) await sleep(dueAt - Date.now());
    await noteHeld(chaos, run, `broker ${kind} ${j + 1}/${plan.outages}`, plan);
    if (kind === 'freeze') broker.freeze();
    else broker.kill();
    await sleep(plan.outageMs);
    const backAt = Date.now();
    if (kind === 'freeze') broker.thaw();
    else await broker.restart();
    done.push(`${kind} ${Math.round(plan.outageMs / 1000)} s`);
    plan.log(`  broker back (${kind}) after ${Date.now() - backAt + plan.outageMs} ms`);
  }
}

function seenCounts(dir: string): Map<string, number> {
  const file = join(dir, 'processed.txt');
  return existsSync(file) ? countLines(readFileSync(file, 'utf8')) : new Map();
}

/** Runs one source through the chaos; never throws for what it measures, only for set-up. */
export async function soakSource(
  run: SourceRun,
  plan: SoakPlan,
  hooks: { onWorker(w: SoakWorker): void },
): Promise<SourceResult> {
  const { source, dir } = run;
  const port = run.port ?? (await freePort());
  const configPath = join(dir, 'sluice.yaml');
  writeFileSync(
    configPath,
    workerYaml(source, { port, dir, runId: run.runId, workMs: plan.workMs }),
  );
  const worker = new SoakWorker({ configPath, port, logPath: join(dir, 'worker.log') });
  hooks.onWorker(worker);
  const chaos: Chaos = {
    worker,
    port,
    bound: 0,
    blind: 0,
    orphans: 0,
    kills: 0,
    lastRestartAtMs: 0,
  };
  await restart(chaos, plan);

  const sent = new Set<string>();
  const outages: string[] = [];
  const sendDeadline = Date.now() + plan.sendMs * 3 + 120_000;
  const [ambiguous] = await Promise.all([
    produce(run, plan, sent, sendDeadline).then((n) => {
      plan.log(`  all ${sent.size} records sent (${n} ambiguous)`);
      return n;
    }),
    killLoop(chaos, run, plan),
    outageLoop(chaos, run, plan, outages),
  ]);
  // Every kill, restart, outage and send is over: the drain is timed from here.
  const drainFromMs = Date.now();
  const drained = await waitFor(
    () => tally(sent, seenCounts(dir)).lost === 0,
    plan.drainLimitMs,
    250,
  );
  const drainMs = drained ? Date.now() - drainFromMs : undefined;
  plan.log(
    `  ${drained ? `drained in ${drainMs} ms` : `NOT drained after ${plan.drainLimitMs} ms`}; waiting ${plan.quietMs} ms for late copies`,
  );
  await sleep(plan.quietMs);
  const counted = tally(sent, seenCounts(dir));
  const finalExit = await worker.stop();
  await sleep(1000);
  const leftover = reapMarked(run.runId);
  return {
    kind: source.kind,
    ...counted,
    kills: chaos.kills,
    outages,
    heldBound: chaos.bound,
    ambiguousSends: ambiguous,
    blindKills: chaos.blind,
    drainMs,
    orphans: chaos.orphans + leftover,
    finalExit,
  };
}
