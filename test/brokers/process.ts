import { spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { logFile, pidFile } from './paths.ts';

/** Thrown when a broker does not come up; names the broker and carries the tail of its log. */
export class BrokerStartError extends Error {
  readonly code = 'BROKER_START_FAILED';
  constructor(broker: string, reason: string, log?: string) {
    const tail = log ? `\n--- last lines of ${log} ---\n${tailOf(log, 40)}` : '';
    super(`broker ${broker} failed to start: ${reason}${tail}`);
    this.name = 'BrokerStartError';
  }
}

export function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function readPid(name: string): number | undefined {
  const file = pidFile(name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/**
 * Starts a broker process detached (own process group, so it outlives a crashed test run and can
 * be stopped as a group), appending stdout/stderr to its log file and recording its pid.
 */
export function spawnDetached(
  name: string,
  command: string,
  args: string[],
  options: Omit<SpawnOptions, 'stdio' | 'detached'> = {},
): number {
  const log = logFile(name);
  const fd = openSync(log, 'a');
  writeFileSync(fd, `\n=== ${new Date().toISOString()} starting ${command} ${args.join(' ')}\n`);
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new BrokerStartError(name, `could not spawn ${command}`, log);
  child.unref();
  writeFileSync(pidFile(name), String(child.pid));
  return child.pid;
}

/** SIGTERM the process group, then SIGKILL after `graceMs`. Removes the pid file. */
export async function stopPid(name: string, graceMs = 15_000): Promise<void> {
  const pid = readPid(name);
  rmSync(pidFile(name), { force: true });
  if (pid === undefined) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) signal('SIGKILL');
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls `probe` until it resolves true, failing with the log tail when `timeoutMs` passes or the
 * process (if given) exits first.
 */
export async function waitUntil(
  name: string,
  probe: () => Promise<boolean>,
  { timeoutMs, pid, intervalMs = 250 }: { timeoutMs: number; pid?: number; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (pid !== undefined && !isAlive(pid)) {
      throw new BrokerStartError(name, 'process exited before it was ready', logFile(name));
    }
    if (Date.now() > deadline) {
      throw new BrokerStartError(name, `not ready after ${timeoutMs} ms`, logFile(name));
    }
    await sleep(intervalMs);
  }
}
