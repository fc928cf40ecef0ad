/**
 * CPU seconds spent by this process, its child processes (function environments) and everything
 * else (the broker) between two snapshots, read from /proc. Linux only; elsewhere it reports
 * nothing. It tells a CPU-bound lane from a latency-bound one on a shared machine.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

interface ProcSample {
  ppid: number;
  comm: string;
  ticks: number;
  /** CPU of children that ended and were reaped (cutime + cstime). */
  reapedTicks: number;
}

export interface CpuSplit {
  /** This process (the engine or the raw client). */
  selfSeconds: number;
  /** Its children (function environments). */
  childrenSeconds: number;
  /** Other processes by command name (java = Kafka / ElasticMQ, beam.smp = RabbitMQ). */
  others: Record<string, number>;
}

function snapshot(): Map<number, ProcSample> {
  const out = new Map<number, ProcSample>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // After "(comm) ": state ppid … utime(12) stime(13), 0-based from state.
      out.set(Number(name), {
        ppid: Number(fields[1]),
        comm,
        ticks: Number(fields[11]) + Number(fields[12]),
        reapedTicks: Number(fields[13]) + Number(fields[14]),
      });
    } catch {
      // The process ended between readdir and read.
    }
  }
  return out;
}

/** Starts a measurement; the returned function ends it. */
export function startCpuMeter(): () => CpuSplit {
  const before = snapshot();
  return () => {
    const after = snapshot();
    const split: CpuSplit = { selfSeconds: 0, childrenSeconds: 0, others: {} };
    for (const [pid, now] of after) {
      const delta = (now.ticks - (before.get(pid)?.ticks ?? 0)) / TICKS_PER_SECOND;
      if (delta <= 0) continue;
      if (pid === process.pid) split.selfSeconds += delta;
      else if (now.ppid === process.pid) split.childrenSeconds += delta;
      else split.others[now.comm] = (split.others[now.comm] ?? 0) + delta;
    }
    // Function processes that ended inside the measurement (a lane that stops its pool before the
    // meter is read) are gone from /proc; their whole CPU is in this process's reaped-children
    // time. Those already running at the start had part of it before: take that part off.
    const self = { before: before.get(process.pid), after: after.get(process.pid) };
    if (self.before && self.after) {
      let ticks = self.after.reapedTicks - self.before.reapedTicks;
      for (const [pid, then] of before)
        if (then.ppid === process.pid && !after.has(pid)) ticks -= then.ticks;
      split.childrenSeconds += Math.max(0, ticks) / TICKS_PER_SECOND;
    }
    return split;
  };
}

/** "self 1.2 s, functions 0.4 s, java 2.0 s" per 10,000 records. */
export function describeCpu(split: CpuSplit, records: number): string {
  const per = (s: number) => ((s / records) * 10_000).toFixed(2);
  const others = Object.entries(split.others)
    .filter(([, s]) => s >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([name, s]) => `${name} ${per(s)}`);
  return [`self ${per(split.selfSeconds)}`, `functions ${per(split.childrenSeconds)}`, ...others]
    .join(', ')
    .concat(' CPU-s per 10k records');
}
