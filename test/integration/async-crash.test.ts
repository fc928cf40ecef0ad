/**
 * Durability of asynchronous invocation across a kill -9: `sluice start` runs as a child process,
 * 1,000 `Event` invokes are accepted through the API (each 202 is a promise the event is stored),
 * the engine is SIGKILLed while most are still queued, and a second engine on the same store
 * processes every one of them — at least once. Duplicates (events whose invoke ran before the kill
 * but whose row was not yet completed) are counted and logged, not forbidden.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { killLeftovers } from '../support/processes.ts';
import { processTree } from '../../src/invoker/memory-watch.ts';
import { API_HANDLERS } from './api-harness.ts';
import { tempDir } from '../support/temp.ts';
import { eventually } from '../support/eventually.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CLI = join(ROOT, 'src', 'cli', 'main.ts');
const EVENTS = 1000;
const SENDERS = 8;

interface Child {
  proc: ChildProcess;
  port: number;
  /** The last lines of output, for a failure message. */
  tail: string[];
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
const strays = new Set<number>();

// Environments of a killed engine are process groups of their own: none may outlive the test.
afterEach(() => killLeftovers(children, strays));

/** Starts `sluice start --config <file>` and resolves once its API listens. */
async function startCli(configPath: string): Promise<Child> {
  const proc = spawn(process.execPath, [CLI, 'start', '--config', configPath], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SLUICE_API_TOKEN: '' },
  });
  children.push(proc);
  const tail: string[] = [];
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const port = new Promise<number>((resolvePort, reject) => {
    // Every line is read (never left in the pipe): a full pipe would stall the engine's logging.
    for (const stream of [proc.stdout, proc.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        tail.push(line);
        if (tail.length > 40) tail.shift();
        if (!line.includes('API listening')) return;
        try {
          resolvePort((JSON.parse(line) as { port: number }).port);
        } catch {
          // not JSON: keep looking
        }
      });
    }
    void exited.then((code) =>
      reject(new Error(`sluice exited (${code}) before listening:\n${tail.join('\n')}`)),
    );
    setTimeout(
      () => reject(new Error(`sluice did not listen in 30 s:\n${tail.join('\n')}`)),
      30_000,
    );
  });
  return { proc, port: await port, tail, exited };
}

function processedIds(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

describe('async invocation survives kill -9 of the engine', () => {
  it('processes every one of 1,000 accepted events at least once after a SIGKILL and restart', async () => {
    const dir = tempDir('sluice-async-crash-');
    try {
      const recordFile = join(dir.path, 'processed.txt');
      const configPath = join(dir.path, 'sluice.yaml');
      // Two concurrent invokes of 10 ms each: at most ~200 events/s, so most of the 1,000 are
      // still queued when the last 202 arrives and the engine is killed.
      writeFileSync(
        configPath,
        [
          'concurrency: { limit: 4, minimumUnreserved: 0 }',
          'api: { host: 127.0.0.1, port: 0 }',
          `storage: { path: ${JSON.stringify(join(dir.path, 'state.db'))} }`,
          'logging: { level: info, format: json }',
          'functions:',
          '  append:',
          '    runtime: nodejs22.x',
          '    handler: index.append',
          `    code: ${JSON.stringify(API_HANDLERS)}`,
          '    reservedConcurrency: 2',
          '    environment:',
          `      RECORD_FILE: ${JSON.stringify(recordFile)}`,
          '      WORK_MS: 10',
        ].join('\n'),
      );

      const first = await startCli(configPath);
      const base = `http://127.0.0.1:${first.port}/2015-03-31/functions/append/invocations`;
      const ids = Array.from({ length: EVENTS }, (_, i) => `evt-${i}-${crypto.randomUUID()}`);
      let next = 0;
      const statuses = new Map<number, number>();
      await Promise.all(
        Array.from({ length: SENDERS }, async () => {
          while (next < ids.length) {
            const id = ids[next++] as string;
            const res = await fetch(base, {
              method: 'POST',
              headers: { 'X-Amz-Invocation-Type': 'Event' },
              body: JSON.stringify({ id }),
            });
            await res.arrayBuffer();
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          }
        }),
      );
      expect(Object.fromEntries(statuses)).toEqual({ 202: EVENTS });

      // kill -9 the engine only (as a crashed host process would die); remember its
      // environments, which are their own process groups, to clean them up afterwards.
      const firstPid = first.proc.pid as number;
      for (const pid of processTree([firstPid])) if (pid !== firstPid) strays.add(pid);
      first.proc.kill('SIGKILL');
      await first.exited;
      const beforeRestart = processedIds(recordFile);
      const uniqueBefore = new Set(beforeRestart).size;
      expect(uniqueBefore).toBeLessThan(EVENTS);

      const second = await startCli(configPath);
      const want = new Set(ids);
      await eventually(
        () => {
          const seen = new Set(processedIds(recordFile));
          for (const id of want) if (!seen.has(id)) return false;
          return true;
        },
        'every accepted event processed after the restart',
        { limitMs: 45_000 },
      ).catch((err: Error) => {
        const seen = new Set(processedIds(recordFile));
        const missing = ids.filter((id) => !seen.has(id));
        throw new Error(
          `${err.message}; ${missing.length} missing, e.g. ${missing.slice(0, 3).join(', ')}\n${second.tail.join('\n')}`,
        );
      });

      const all = processedIds(recordFile);
      const counts = new Map<string, number>();
      for (const id of all) counts.set(id, (counts.get(id) ?? 0) + 1);
      const duplicates = [...counts].filter(([, n]) => n > 1);
      const strayAlive = [...strays].filter((pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
      // Every id was one the API accepted; none was lost.
      expect([...counts.keys()].every((id) => want.has(id))).toBe(true);
      expect(counts.size).toBe(EVENTS);
      console.info(
        `[async-crash] ${EVENTS} events accepted; ${uniqueBefore} processed before the SIGKILL; ` +
          `${EVENTS - uniqueBefore} after the restart; ${all.length} invokes in all; ` +
          `${strays.size} environment process(es) orphaned by the kill, ${strayAlive.length} still alive; ` +
          `${duplicates.length} duplicated event(s)` +
          (duplicates.length > 0
            ? `: ${duplicates
                .slice(0, 20)
                .map(([id, n]) => `${id}×${n}`)
                .join(', ')}`
            : ''),
      );

      second.proc.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      dir.cleanup();
    }
  }, 90_000);
});
