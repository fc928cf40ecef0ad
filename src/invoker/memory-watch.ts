import { readFileSync, readdirSync } from 'node:fs';

/** Resident memory of a set of process trees, read from /proc (Linux). */
export interface TreeMemory {
  /** Sum of VmRSS now. */
  rssBytes: number;
  /** Sum of VmHWM (each process's own peak RSS): what REPORT calls Max Memory Used. */
  peakBytes: number;
}

/** Every pid under `rootPids` (the roots included), found through /proc/<pid>/task/<tid>/children. */
export function processTree(rootPids: number[]): number[] {
  const seen = new Set<number>();
  const stack = [...rootPids];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // exited meanwhile
    }
    for (const tid of tasks) {
      try {
        const children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
        for (const child of children.split(' ')) if (child.trim()) stack.push(Number(child));
      } catch {
        // thread gone
      }
    }
  }
  return [...seen];
}

/** VmRSS and VmHWM of one process in bytes, or undefined when it is gone. */
export function processMemory(pid: number): { rssBytes: number; peakBytes: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  return { rssBytes: kbField(status, 'VmRSS') * 1024, peakBytes: kbField(status, 'VmHWM') * 1024 };
}

function kbField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}

export function treeMemory(rootPids: number[]): TreeMemory {
  let rssBytes = 0;
  let peakBytes = 0;
  for (const pid of processTree(rootPids)) {
    const memory = processMemory(pid);
    if (!memory) continue;
    rssBytes += memory.rssBytes;
    peakBytes += memory.peakBytes;
  }
  return { rssBytes, peakBytes };
}

export interface MemoryWatchOptions {
  /** Current roots (runtime and extension processes). */
  pids: () => number[];
  limitBytes: number;
  intervalMs?: number;
  /** Called once when the trees' RSS exceeds the limit. */
  onExceeded: (rssBytes: number) => void;
}

/**
 * Samples the RSS of the environment's processes while an invoke runs and reports the first
 * sample over the limit. There is no cgroup here, so this is how Runtime.OutOfMemory happens;
 * a sampling watch can overshoot briefly between samples, never undershoot.
 */
export class MemoryWatch {
  private timer: NodeJS.Timeout | undefined;
  private readonly options: MemoryWatchOptions;
  /** Highest summed peak seen by this watch over the environment's life. */
  peakBytes = 0;

  constructor(options: MemoryWatchOptions) {
    this.options = options;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sample(), this.options.intervalMs ?? 20);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Takes one sample now; returns the figures (and updates the peak). */
  sample(): TreeMemory {
    const memory = treeMemory(this.options.pids());
    this.peakBytes = Math.max(this.peakBytes, memory.peakBytes, memory.rssBytes);
    if (memory.rssBytes > this.options.limitBytes) {
      this.stop();
      this.options.onExceeded(memory.rssBytes);
    }
    return memory;
  }
}
