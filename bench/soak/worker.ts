/**
 * One `sluice start` process of the soak: spawned from source like the crash tests do, its output
 * appended to a log file, SIGKILLed like a crashed host process (the worker only: its function
 * processes are left to notice by themselves — the ones that do not are the orphans counted).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { processTree } from '../../src/invoker/memory-watch.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'src/cli/main.ts');
const READY_LIMIT_MS = 60_000;
/** How long a function process may outlive its killed worker before it counts as orphaned. */
const ORPHAN_GRACE_MS = 5_000;

export interface WorkerOptions {
  configPath: string;
  port: number;
  logPath: string;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when `check` holds, or false after `limitMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  limitMs: number,
  stepMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(stepMs);
  }
  return check();
}

export class SoakWorker {
  readonly #o: WorkerOptions;
  #child: ChildProcess | undefined;
  startedAtMs = 0;

  constructor(options: WorkerOptions) {
    this.#o = options;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Spawns the worker and waits until its API answers `/metrics`. `env` is added to the worker's
   * environment (the soak's config interpolates SOAK_GEN from it into the function's).
   */
  async start(env: Record<string, string> = {}): Promise<void> {
    const log = openSync(this.#o.logPath, 'a');
    writeSync(log, `\n=== ${new Date().toISOString()} start\n`);
    this.#child = spawn(process.execPath, [CLI, 'start', '--config', this.#o.configPath], {
      cwd: ROOT,
      stdio: ['ignore', log, log],
      env: { ...process.env, ...env, SLUICE_API_TOKEN: '' },
    });
    closeSync(log);
    this.startedAtMs = Date.now();
    const child = this.#child;
    const ready = await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`worker exited (${child.exitCode}); see ${this.#o.logPath}`);
        try {
          const res = await fetch(`http://127.0.0.1:${this.#o.port}/metrics`, {
            signal: AbortSignal.timeout(1000),
          });
          await res.arrayBuffer();
          return res.ok;
        } catch {
          return false;
        }
      },
      READY_LIMIT_MS,
      100,
    );
    if (!ready)
      throw new Error(`worker API not up in ${READY_LIMIT_MS} ms; see ${this.#o.logPath}`);
  }

  /**
   * The worker's descendants now (its function processes). Read before a kill: after it they
   * are no longer its descendants. Taking it can take a while on a loaded machine (a /proc walk),
   * so the chaos takes it before its last scrape rather than between the scrape and the kill.
   */
  functionPids(): number[] {
    const pid = this.#child?.pid;
    return pid === undefined ? [] : processTree([pid]).filter((p) => p !== pid);
  }

  /**
   * SIGKILL of the worker process alone (`children`: its function processes, read before); resolves with the function processes it had that are
   * still alive `ORPHAN_GRACE_MS` after it died (and kills those, so they do not pile up).
   */
  async kill(children: number[] = this.functionPids()): Promise<number> {
    const child = this.#child;
    if (!child?.pid || child.exitCode !== null) return 0;
    const exited = new Promise<void>((r) =>
      child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r()),
    );
    child.kill('SIGKILL');
    await exited;
    await waitFor(() => children.every((p) => !alive(p)), ORPHAN_GRACE_MS, 100);
    const orphans = children.filter(alive);
    for (const pid of orphans) killQuietly(pid);
    return orphans.length;
  }

  /** SIGTERM and wait (bounded); SIGKILL if it does not exit. Returns the exit code. */
  async stop(limitMs = 30_000): Promise<number | null> {
    const child = this.#child;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null)
      return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Function processes of this soak run (marked by `SLUICE_SOAK_RUN=<runId>` in their environment)
 * that are not descendants of a live worker: orphans. Killed; their count is returned.
 */
export function reapMarked(runId: string, livePids: number[] = []): number {
  const keep = new Set(livePids.length > 0 ? processTree(livePids) : []);
  let reaped = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (keep.has(Number(pid)) || Number(pid) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`SLUICE_SOAK_RUN=${runId}\0`))
        continue;
      killQuietly(Number(pid));
      reaped += 1;
    } catch {
      // gone, or not ours to read
    }
  }
  return reaped;
}
