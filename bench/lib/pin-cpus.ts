/**
 * `BENCH_PIN=1`: the broker on CPU 1, this process (and the function processes it starts, which
 * inherit it) on CPU 0 — the broker as if on a host of its own, as in production, instead of
 * competing with the lane it serves. Linux with util-linux `taskset` and ≥ 2 CPUs; elsewhere it
 * says why and does nothing. The returned function puts every CPU back.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';

function pidsNamed(comm: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() === comm) pids.push(Number(name));
    } catch {
      // Gone between readdir and read.
    }
  }
  return pids;
}

function setAffinity(pid: number, cpus: string): void {
  // -a: every thread of the process (a JVM's and the BEAM's schedulers, Node's workers).
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** Pins when `BENCH_PIN=1`; returns how to undo it and a label for the report. */
export function pinBrokerApart(brokerComm: string): { label: string; restore: () => void } {
  const none = { label: 'broker and lane share every CPU', restore: () => undefined };
  if (process.env.BENCH_PIN !== '1') return none;
  const cpus = availableParallelism();
  const brokers = pidsNamed(brokerComm);
  if (cpus < 2 || brokers.length === 0) {
    process.stderr.write(`BENCH_PIN: needs 2 CPUs and a running ${brokerComm}; not pinned\n`);
    return none;
  }
  const all = `0-${cpus - 1}`;
  try {
    for (const pid of brokers) setAffinity(pid, '1');
    setAffinity(process.pid, '0');
  } catch (error) {
    process.stderr.write(`BENCH_PIN: taskset failed (${(error as Error).message}); not pinned\n`);
    return none;
  }
  let pinned = true;
  const restore = () => {
    if (!pinned) return;
    pinned = false;
    for (const pid of [...brokers, process.pid]) {
      try {
        setAffinity(pid, all);
      } catch {
        // The broker may have stopped meanwhile.
      }
    }
  };
  // The brokers outlive the bench (the launcher reuses them): never leave one on a single CPU.
  process.once('exit', restore);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      restore();
      process.exit(130);
    });
  }
  return {
    label: `${brokerComm} pinned to CPU 1, this process and its functions to CPU 0`,
    restore,
  };
}
