/**
 * One source's soak: a worker consuming it while a producer sends, the worker SIGKILLed at random
 * moments and restarted, the source's broker frozen or killed for a while; then the drain, the
 * count, and the bound on duplicates from what the worker held before each kill.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { SecondInstance } from '../../test/brokers/second-instance.ts';
import { boundOf, scrapeHeld } from './metrics.ts';
import { MAPPING, WORKER_CONCURRENCY, type OutageKind, type SoakSource } from './sources.ts';
import { attributeCopies, type KillNote } from './copies.ts';
import { countLines, tally, type SameGenerationCopy, type Tally } from './tally.ts';
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

export type { KillNote } from './copies.ts';

export interface SourceResult extends Tally {
  kind: string;
  kills: number;
  outages: string[];
  /** Sum of every kill's and outage's bound (for the table; the check is per kill). */
  heldBound: number;
  killNotes: KillNote[];
  /** What was held when each outage began and ended, summed: bounds same-generation copies. */
  outageBound: number;
  /** Generations alive during each outage: their copies may be the outage's (see report.ts). */
  outageGens: number[];
  /** Extra deliveries within one worker generation (no kill between them). */
  sameGeneration: number;
  /** Up to 20 of them with every delivery of the record, as evidence. */
  sameGenerationSamples: SameGenerationCopy[];
  /** Extra deliveries charged to a generation that was not ended by a kill (must be 0). */
  unattributed: number;
  /** Records of sends retried after an unknown outcome (each may be stored twice). */
  ambiguousSends: number;
  /** Extra deliveries of those records, charged to the ambiguous sends (message unknown). */
  ambiguousDuplicates: number;
  /** Second stored copies (another SQS messageId / Kafka offset for one id): not redeliveries. */
  storedTwice: number;
  /** Kills whose scrape never answered (bound: the source's maxHeld). */
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
    `concurrency: { limit: ${WORKER_CONCURRENCY} }`,
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
    // From the worker's environment (interpolated when the config is loaded): each delivery
    // names the worker generation it happened in.
    "      SOAK_GEN: '${SOAK_GEN}'",
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
  ambiguousIds: Map<string, number>,
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
    const unsure = await source.send(ids, deadlineMs);
    ambiguous += unsure;
    // Each ambiguous attempt of the chunk may have stored every id of it once more.
    const attempts = Math.ceil(unsure / ids.length);
    for (const id of ids) {
      sent.add(id);
      if (attempts > 0) ambiguousIds.set(id, attempts);
    }
  }
  return ambiguous;
}

interface Chaos {
  worker: SoakWorker;
  port: number;
  /** The running worker's generation: 1 for the first start, +1 at every start. */
  gen: number;
  killNotes: KillNote[];
  outageBound: number;
  outageGens: Set<number>;
  orphans: number;
  lastRestartAtMs: number;
}

async function restart(chaos: Chaos, run: SourceRun, plan: SoakPlan): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    chaos.gen += 1;
    try {
      await chaos.worker.start({ SOAK_GEN: String(chaos.gen) });
      chaos.lastRestartAtMs = Date.now();
      return;
    } catch (err) {
      plan.log(`  worker start failed (attempt ${attempt}): ${(err as Error).message}`);
      // It may have polled before failing: what it held is unknown, so its end is a blind kill.
      await killNow(chaos, run, { answered: false, bound: 0 }, chaos.worker.functionPids(), plan);
      if (attempt >= 3) throw err;
    }
  }
}

interface Scraped {
  answered: boolean;
  bound: number;
  askedAtMs?: number;
}

async function scrape(chaos: Chaos, run: SourceRun, attempts = 10): Promise<Scraped> {
  const held = await scrapeHeld(chaos.port, run.source.kind, MAPPING, run.source.batchSize, {
    attempts,
  });
  return {
    answered: held.answered,
    bound: boundOf(held),
    ...(held.askedAtMs === undefined ? {} : { askedAtMs: held.askedAtMs }),
  };
}

/**
 * SIGKILL right after `scraped` answered (the function processes were listed before it, so
 * nothing slow lies between), noted against the generation it ends.
 */
async function killNow(
  chaos: Chaos,
  run: SourceRun,
  scraped: Scraped,
  functionPids: number[],
  plan: SoakPlan,
) {
  const killAtMs = Date.now();
  const upMs = killAtMs - chaos.lastRestartAtMs;
  chaos.orphans += await chaos.worker.kill(functionPids);
  const note: KillNote = {
    kill: chaos.killNotes.length + 1,
    gen: chaos.gen,
    upMs,
    held: scraped.bound,
    ...(scraped.askedAtMs === undefined
      ? {}
      : { scrapedAtMs: scraped.askedAtMs, scrapeToKillMs: killAtMs - scraped.askedAtMs }),
    finishedAfterScrape: 0,
    blind: !scraped.answered,
    bound: scraped.answered ? scraped.bound : run.source.maxHeld,
    duplicates: 0,
  };
  chaos.killNotes.push(note);
  plan.log(
    `  kill ${note.kill} ended generation ${note.gen} (${upMs} ms after its start): held ${scraped.answered ? `${note.held} (scrape sent ${note.scrapeToKillMs} ms before the kill)` : `? (no scrape answered; bound ${note.bound})`}`,
  );
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
    const functionPids = chaos.worker.functionPids();
    await killNow(chaos, run, await scrape(chaos, run), functionPids, plan);
    await restart(chaos, run, plan);
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
    const atStart = await scrape(chaos, run);
    const fromGen = chaos.gen;
    if (kind === 'freeze') broker.freeze();
    else broker.kill();
    await sleep(plan.outageMs);
    const backAt = Date.now();
    if (kind === 'freeze') broker.thaw();
    else await broker.restart();
    done.push(`${kind} ${Math.round(plan.outageMs / 1000)} s`);
    // Records held when it began (their settles may fail) or when it ended (a rejoin may hand
    // them out again) may come back within one generation.
    // A kill may be under way (its 5 s wait for orphans, then the start): wait longer for it.
    const atEnd = await scrape(chaos, run, 30);
    const bound = [atStart, atEnd]
      .map((s) => (s.answered ? s.bound : run.source.maxHeld))
      .reduce((a, b) => a + b, 0);
    chaos.outageBound += bound;
    for (let g = fromGen; g <= chaos.gen; g++) chaos.outageGens.add(g);
    plan.log(
      `  broker ${kind} ${j + 1}/${plan.outages} over after ${Date.now() - backAt + plan.outageMs} ms: held ${atStart.answered ? atStart.bound : '?'} at its start, ${atEnd.answered ? atEnd.bound : '?'} at its end`,
    );
  }
}

function recorded(dir: string): string {
  const file = join(dir, 'processed.txt');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

const seenCounts = (dir: string): Map<string, number> => countLines(recorded(dir));

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
    gen: 0,
    killNotes: [],
    outageBound: 0,
    outageGens: new Set(),
    orphans: 0,
    lastRestartAtMs: 0,
  };
  await restart(chaos, run, plan);

  const sent = new Set<string>();
  const ambiguousIds = new Map<string, number>();
  const outages: string[] = [];
  const sendDeadline = Date.now() + plan.sendMs * 3 + 120_000;
  const [ambiguous] = await Promise.all([
    produce(run, plan, sent, ambiguousIds, sendDeadline).then((n) => {
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
  const finalExit = await worker.stop();
  await sleep(1000);
  const leftover = reapMarked(run.runId);
  // Counted after the stop: batches the last worker finished while stopping are copies too.
  const counted = tally(sent, seenCounts(dir));
  const copies = attributeCopies(recorded(dir), sent, ambiguousIds, chaos.killNotes, plan.log);
  const killBound = chaos.killNotes.reduce((n, k) => n + k.bound, 0);
  return {
    kind: source.kind,
    ...counted,
    kills: chaos.killNotes.length,
    outages,
    heldBound: killBound + chaos.outageBound,
    killNotes: chaos.killNotes,
    outageBound: chaos.outageBound,
    outageGens: [...chaos.outageGens].sort((a, b) => a - b),
    sameGeneration: copies.sameGen.length,
    sameGenerationSamples: copies.sameGen.slice(0, 20),
    unattributed: copies.unattributed,
    ambiguousSends: ambiguous,
    ambiguousDuplicates: copies.ambiguous,
    storedTwice: copies.storedTwice,
    blindKills: chaos.killNotes.filter((k) => k.blind).length,
    drainMs,
    orphans: chaos.orphans + leftover,
    finalExit,
  };
}
