import { statSync } from 'node:fs';
import { spawnProcess, type ChildHandle } from './environment-process.ts';
import type { RuntimeLaunch } from './runtimes/runtimes.ts';

/**
 * Warm spare runtime processes (Node only). Starting `node` with heap flags costs ~36 ms, of which
 * the function's own work is a fraction; a spare pays that start-up before any function needs it:
 * it runs the bootstrap in spare mode (built-ins and runtime modules loaded, nothing of a function)
 * and waits on its fd 3 for one JSON line — the function's complete environment and code folder.
 * The bootstrap then replaces its environment, changes folder and carries on like a normally
 * started runtime. One spare is kept per launch signature (node binary + heap flags, so one per
 * memorySize); taking it starts the next one once the taker's INIT is done.
 *
 * The registry is per engine process, not per pool: environments are created by a factory that
 * knows no pool, and the engine runs a single pool. `EnvironmentPool.stop()` calls stopSpares().
 */

/** A spare nobody took for this long is killed (and started again by the next cold start). */
const DEFAULT_IDLE_MS = 5 * 60_000;
/** Output a spare writes before it is assigned (Node warnings) is replayed to its environment. */
const MAX_EARLY_LINES = 100;

/**
 * The spare's whole environment at start-up, built from nothing like a function's (the engine's
 * variables never reach it). LANG matches what buildLambdaEnv gives every function, because ICU
 * takes its default locale from LANG once, at start-up; TZ is re-read by Node whenever it is set.
 */
const SPARE_ENV: Readonly<Record<string, string>> = {
  LANG: 'en_US.UTF-8',
  TZ: ':UTC',
};
/** Tells the bootstrap to wait for an assignment (it removes the flag from process.argv). */
const SPARE_FLAG = '--sluice-spare';

/**
 * Variables Node (or ICU, libuv, OpenSSL inside it) reads only while starting: a process that
 * started without them would silently ignore them, so a function declaring one is spawned
 * normally. NODE_OPTIONS, NODE_EXTRA_CA_CERTS, NODE_PATH…; UV_THREADPOOL_SIZE; the OpenSSL config
 * and CA locations; the locale. A declared value equal to the spare's own (LANG) is harmless.
 */
const STARTUP_ONLY = /^(NODE_|UV_|OPENSSL_|SSL_CERT_|LC_|LANG$|LANGUAGE$)/;

interface Spare {
  readonly key: string;
  readonly child: ChildHandle;
  ready: boolean;
  readonly readyWaiters: Array<(pid: number | undefined) => void>;
  /** Where output lines go: buffered until assigned, then the environment's log. */
  sink: (line: string) => void;
  readonly early: string[];
  idleTimer: NodeJS.Timeout | undefined;
}

export interface SpareAssignment {
  /** The function's complete environment (the spare's own is dropped). */
  env: Record<string, string>;
  /** The code folder, the runtime's working directory. */
  cwd: string;
  /** The environment's output handler; the spare's earlier output is replayed to it first. */
  onLine: (line: string) => void;
}

const spares = new Map<string, Spare>();
/** How many spares were started and taken (observable by tests and the benchmark). */
export const spareCounters = { started: 0, taken: 0 };
let idleMs = DEFAULT_IDLE_MS;

/** Changes how long an untaken spare lives (tests); applies to spares started afterwards. */
export function setSpareIdleMs(ms: number): void {
  idleMs = ms;
}

function signature(launch: RuntimeLaunch): string {
  return JSON.stringify([launch.command, ...launch.args]);
}

/**
 * Whether an environment of this launch may run in a spare: the runtime supports it, the engine
 * has not disabled it (`SLUICE_WARM_SPARES=0`) and the function declares no start-up-only variable
 * whose value would differ from the spare's.
 */
export function canUseSpare(
  launch: RuntimeLaunch,
  declared: Record<string, string>,
  engineEnv: NodeJS.ProcessEnv = process.env,
): boolean {
  if (!launch.spares || engineEnv.SLUICE_WARM_SPARES === '0') return false;
  return Object.entries(declared).every(
    ([key, value]) => !STARTUP_ONLY.test(key) || SPARE_ENV[key] === value,
  );
}

/**
 * Hands the waiting spare of this launch to an environment, or undefined when there is none. A
 * spare still starting is taken too: it has a head start on a fresh spawn either way. The handle
 * is the spare's own process: same pid for memory accounting, same stdout/stderr splitters.
 */
export function takeSpare(
  launch: RuntimeLaunch,
  assignment: SpareAssignment,
): ChildHandle | undefined {
  const key = signature(launch);
  const spare = spares.get(key);
  if (!spare || spare.child.exitInfo || !spare.child.control?.writable) return undefined;
  // A spawn into a missing folder fails as Runtime.InvalidEntrypoint; a spare would crash on
  // chdir instead. Leave that case to the spawn so the error stays the same.
  if (!statSync(assignment.cwd, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  forget(spare);
  spareCounters.taken += 1;
  spare.sink = assignment.onLine;
  for (const line of spare.early.splice(0)) assignment.onLine(line);
  const { control } = spare.child;
  control.end(`${JSON.stringify({ env: assignment.env, cwd: assignment.cwd })}\n`);
  // From now on it is an ordinary runtime process, which keeps the engine running.
  spare.child.hold(true);
  return spare.child;
}

/** Starts a spare for this launch unless one is waiting or starting. */
export function replenishSpare(launch: RuntimeLaunch): void {
  const key = signature(launch);
  if (spares.has(key)) return;
  const early: string[] = [];
  const child = spawnProcess({
    command: launch.command,
    args: [...launch.args, SPARE_FLAG],
    cwd: '/',
    env: { ...SPARE_ENV },
    onLine: (line) => spare.sink(line),
    control: true,
  });
  const spare: Spare = {
    key,
    child,
    ready: false,
    readyWaiters: [],
    early,
    sink: (line) => {
      if (early.length < MAX_EARLY_LINES) early.push(line);
    },
    idleTimer: undefined,
  };
  spares.set(key, spare);
  spareCounters.started += 1;
  // A waiting spare must not keep the engine alive; should the engine die anyway, the spare sees
  // its control pipe close and exits by itself, so no spare outlives the engine.
  child.hold(false);
  spare.idleTimer = setTimeout(() => child.kill('SIGKILL'), idleMs);
  spare.idleTimer.unref();
  child.control?.on('data', () => {
    if (spare.ready) return;
    spare.ready = true;
    for (const resolve of spare.readyWaiters.splice(0)) resolve(child.pid);
  });
  void child.exited.then(() => forget(spare));
}

/**
 * Resolves with the pid of this launch's spare once it waits for an assignment, or undefined when
 * there is no spare (or it died first). For tests and the benchmark.
 */
export function whenSpareReady(launch: RuntimeLaunch): Promise<number | undefined> {
  const spare = spares.get(signature(launch));
  if (!spare) return Promise.resolve(undefined);
  if (spare.ready) return Promise.resolve(spare.child.pid);
  // The spare does not keep the process alive, but someone waiting for it should.
  const keepAlive = setInterval(() => undefined, 60_000);
  return new Promise((resolve) =>
    spare.readyWaiters.push((pid) => {
      clearInterval(keepAlive);
      resolve(pid);
    }),
  );
}

/** Pids of the spares not yet taken. */
export function sparePids(): number[] {
  return [...spares.values()].flatMap((s) => (s.child.pid === undefined ? [] : [s.child.pid]));
}

/** Kills every untaken spare and waits until each is gone. */
export async function stopSpares(): Promise<void> {
  const all = [...spares.values()];
  for (const spare of all) {
    forget(spare);
    // Held again so that awaiting the exit keeps the engine alive until it is seen.
    spare.child.hold(true);
    spare.child.kill('SIGKILL');
  }
  await Promise.all(all.map((s) => s.child.exited));
}

/** SIGKILLs every untaken spare at once, synchronously (a shutdown out of time). */
export function killSparesNow(): void {
  for (const spare of [...spares.values()]) {
    forget(spare);
    spare.child.kill('SIGKILL');
  }
}

/** Drops a spare from the registry (taken, dead or stopped); whoever waited for it gets nothing. */
function forget(spare: Spare): void {
  if (spares.get(spare.key) === spare) spares.delete(spare.key);
  clearTimeout(spare.idleTimer);
  for (const resolve of spare.readyWaiters.splice(0)) resolve(undefined);
}
