import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { tempStorePath } from '../support/temp.ts';

const CHILD = join(import.meta.dirname, 'fakes', 'async-crash-child.ts');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function run(args: string[]) {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  cleanups.push(() => child.kill('SIGKILL'));
  return { child, exited, out: () => out, err: () => err };
}

const completions = (log: string) =>
  existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];

describe('async queue survives kill -9 (child process, same SQLite file)', () => {
  it('processes all 1,000 queued events at least once after a SIGKILL mid-drain', async () => {
    const TOTAL = 1000;
    const tmp = tempStorePath();
    cleanups.push(tmp.cleanup);
    const log = `${tmp.path}.log`;

    const first = run([tmp.path, String(TOTAL), log]);
    await eventually(() => first.out().includes('enqueued'), 'the child enqueued', {
      limitMs: 15_000,
    });
    await eventually(() => completions(log).length >= 200, '200 completions logged', {
      limitMs: 15_000,
    });
    first.child.kill('SIGKILL');
    await first.exited;
    const beforeRestart = completions(log).length;
    expect(beforeRestart).toBeLessThan(TOTAL);

    const second = run([tmp.path, '0', log]);
    await eventually(() => second.out().includes('drained'), 'the second child drained', {
      limitMs: 20_000,
    });
    expect(await second.exited, second.err()).toBe(0);

    const counts = new Map<string, number>();
    for (const id of completions(log)) counts.set(id, (counts.get(id) ?? 0) + 1);
    const missing = Array.from({ length: TOTAL }, (_, i) => `k-${i}`).filter(
      (id) => !counts.has(id),
    );
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    console.log(
      `kill -9: ${beforeRestart} done before the kill, ${TOTAL - beforeRestart} after restart, ${duplicates} duplicates`,
    );
    expect(missing).toEqual([]);
    // At-least-once: only events in flight at the kill may run twice (≤ the 20-wide ceiling).
    expect(duplicates).toBeLessThanOrEqual(20);
  }, 60_000);
});
