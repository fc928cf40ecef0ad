import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { LineSplitter } from './log-lines.ts';

export type ExitInfo =
  | { kind: 'exit'; code: number | null; signal: NodeJS.Signals | null }
  /** The process could not be started at all (missing or non-executable file). */
  | { kind: 'spawn-error'; code: string; message: string };

export interface ChildHandle {
  readonly pid: number | undefined;
  /** Set once the process is gone. */
  readonly exitInfo: ExitInfo | undefined;
  /** Resolves once, when the process has exited and its output is drained. */
  readonly exited: Promise<ExitInfo>;
  /** Signals the whole process group (the runtime's own children included). */
  kill(signal: NodeJS.Signals): void;
  /** Emits any partial last line of output. */
  flushOutput(): void;
  /** The extra duplex pipe on the child's fd 3, when asked for (`control`). */
  readonly control: Socket | undefined;
  /** Whether the process and its pipes keep the engine's event loop alive (default: they do). */
  hold(held: boolean): void;
}

export interface SpawnOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  onLine: (line: string) => void;
  /** Opens a duplex pipe on the child's fd 3 (how a warm spare receives its assignment). */
  control?: boolean;
}

/**
 * Starts a runtime or extension process in its own process group, so a kill also takes the
 * subprocesses it started. stdout and stderr are read line by line.
 */
export function spawnProcess(options: SpawnOptions): ChildHandle {
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe', ...(options.control ? ['pipe' as const] : [])],
    detached: true,
  });
  const out = child.stdio[1] as Socket;
  const err = child.stdio[2] as Socket;
  const control = options.control ? (child.stdio[3] as Socket) : undefined;
  // A broken control pipe shows up as the process's exit; never as an unhandled 'error'.
  control?.on('error', () => undefined);
  const stdout = new LineSplitter(options.onLine);
  const stderr = new LineSplitter(options.onLine);
  out.on('data', (chunk: Buffer) => stdout.push(chunk));
  err.on('data', (chunk: Buffer) => stderr.push(chunk));

  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      // 'error' without a pid means spawn failed; other errors (a failed kill) are ignored.
      if (child.pid !== undefined) return;
      exitInfo = { kind: 'spawn-error', code: error.code ?? 'UNKNOWN', message: error.message };
      resolve(exitInfo);
    });
    // 'close' (not 'exit') so every line the process wrote has been read.
    child.once('close', (code, signal) => {
      stdout.flush();
      stderr.flush();
      exitInfo ??= { kind: 'exit', code, signal };
      resolve(exitInfo);
    });
  });

  return {
    get pid() {
      return child.pid;
    },
    get exitInfo() {
      return exitInfo;
    },
    exited,
    kill(signal) {
      if (child.pid === undefined || exitInfo) return;
      killGroup(child, child.pid, signal);
    },
    flushOutput() {
      stdout.flush();
      stderr.flush();
    },
    control,
    hold(held) {
      for (const handle of [child, out, err, control]) {
        if (held) handle?.ref();
        else handle?.unref();
      }
    },
  };
}

const SIGNAL_TEXT: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGABRT: 'aborted',
  SIGSEGV: 'segmentation fault',
  SIGINT: 'interrupt',
  SIGBUS: 'bus error',
  SIGFPE: 'floating point exception',
  SIGILL: 'illegal instruction',
  SIGHUP: 'hangup',
  SIGPIPE: 'broken pipe',
  SIGQUIT: 'quit',
};

/** Go's wording of a process end, which Lambda uses: `exit status 1`, `signal: killed`. */
export function describeExit(info: ExitInfo): string {
  if (info.kind === 'spawn-error') return info.message;
  if (info.signal) return `signal: ${SIGNAL_TEXT[info.signal] ?? info.signal}`;
  return `exit status ${info.code ?? 0}`;
}

/** Go's `fork/exec` wording for a bootstrap that cannot start (Runtime.InvalidEntrypoint). */
export function describeSpawnError(command: string, code: string): string {
  const reason =
    code === 'ENOENT'
      ? 'no such file or directory'
      : code === 'EACCES'
        ? 'permission denied'
        : code.toLowerCase();
  return `fork/exec ${command}: ${reason}`;
}

/**
 * Signals the child's whole process group (it was spawned detached, so it leads one): a runtime's
 * own children die with it. Falls back to the child alone when the group is already gone.
 */
function killGroup(child: ChildProcess, pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // gone
    }
  }
}
