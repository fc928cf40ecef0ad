/**
 * `--shutdown-timeout` is a promise to the orchestrator, which SIGKILLs the process after it:
 * `sluice start` (a child process) gets SIGTERM while functions hold work that cannot finish in
 * time — SQS batches and async `Event` invokes of a function that waits for a file that never
 * comes — and must have exited by the deadline. Work still queued for the function when the
 * environments are shut down is ordinary at shutdown: it is logged below error level.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { killLeftovers } from '../support/processes.ts';
import { exitByMs } from '../../src/app/shutdown-plan.ts';
import { processTree } from '../../src/invoker/memory-watch.ts';
import { API_HANDLERS } from './api-harness.ts';
import { eventually } from '../support/eventually.ts';
import { tempDir } from '../support/temp.ts';
import {
  createQueue,
  deleteQueue,
  REGION,
  sendMessages,
  sqsClient,
  sqsEndpoint,
} from './sqs-mapping-harness.ts';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CLI = join(ROOT, 'src', 'cli', 'main.ts');
const DEADLINE_MS = 3000;
/** Slack for the test's own view of the exit (signal delivery, the exit event on a busy host). */
const OBSERVATION_SLACK_MS = 1500;

const children: ChildProcess[] = [];
const strays = new Set<number>();

// Environments of a killed engine are process groups of their own: none may outlive the test.
afterEach(() => killLeftovers(children, strays));

interface LogLine {
  level?: number;
  msg?: string;
  err?: { message?: string };
  [key: string]: unknown;
}

describe('SIGTERM keeps the --shutdown-timeout promise', () => {
  it('exits by the deadline while functions hold batches and async events, logging the pool stop below error', async () => {
    const dir = tempDir('sluice-shutdown-');
    const sqs = sqsClient();
    const queue = await createQueue(sqs, { visibilityTimeoutS: 60 });
    try {
      const started = join(dir.path, 'started');
      const configPath = join(dir.path, 'sluice.yaml');
      writeFileSync(
        configPath,
        [
          'concurrency: { limit: 12, minimumUnreserved: 0 }',
          'api: { host: 127.0.0.1, port: 0 }',
          `storage: { path: ${JSON.stringify(join(dir.path, 'state.db'))} }`,
          'logging: { level: debug, format: json }',
          'connections:',
          '  local-sqs:',
          '    type: sqs',
          `    endpoint: ${sqsEndpoint()}`,
          `    region: ${REGION}`,
          '    credentials: { accessKeyId: test, secretAccessKey: test }',
          'functions:',
          '  hold:',
          '    runtime: nodejs22.x',
          '    handler: index.holdIgnoringTerm',
          `    code: ${JSON.stringify(API_HANDLERS)}`,
          '    timeout: 120',
          '    environment:',
          `      STARTED_FILE: ${JSON.stringify(started)}`,
          `      RELEASE_FILE: ${JSON.stringify(join(dir.path, 'never'))}`,
          'mappings:',
          '  - name: held',
          '    function: hold',
          `    source: { connection: local-sqs, queueUrl: ${JSON.stringify(queue.url)} }`,
          '    batchSize: 1',
          '    scalingConfig: { maximumConcurrency: 8 }',
        ].join('\n'),
      );
      await sendMessages(
        sqs,
        queue.url,
        Array.from({ length: 20 }, (_, i) => ({ body: `m${i}` })),
      );

      const proc = spawn(
        process.execPath,
        [CLI, 'start', '--config', configPath, '--shutdown-timeout', String(DEADLINE_MS)],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } },
      );
      children.push(proc);
      const lines: LogLine[] = [];
      const raw: string[] = [];
      let exitedAt = 0;
      const exited = new Promise<number | null>((r) =>
        proc.once('exit', (code) => {
          exitedAt = Date.now();
          r(code);
        }),
      );
      for (const stream of [proc.stdout, proc.stderr]) {
        createInterface({ input: stream }).on('line', (line) => {
          raw.push(line);
          try {
            lines.push(JSON.parse(line) as LogLine);
          } catch {
            // not JSON
          }
        });
      }
      await eventually(() => lines.some((l) => l.msg === 'API listening'), 'API listening', {
        limitMs: 30_000,
      });
      const port = lines.find((l) => l.msg === 'API listening')?.port as number;
      // Async events queue behind the function's reserved concurrency, held by SQS batches.
      for (let i = 0; i < 6; i += 1) {
        const res = await fetch(`http://127.0.0.1:${port}/2015-03-31/functions/hold/invocations`, {
          method: 'POST',
          headers: { 'X-Amz-Invocation-Type': 'Event' },
          body: JSON.stringify({ i }),
        });
        expect(res.status).toBe(202);
      }
      await eventually(() => existsSync(started), 'the function started', { limitMs: 30_000 });
      // A synchronous invoke waits for its function on an open API connection.
      const syncInvoke = fetch(`http://127.0.0.1:${port}/2015-03-31/functions/hold/invocations`, {
        method: 'POST',
        body: '{}',
      }).then(
        (res) => res.arrayBuffer(),
        () => undefined,
      );
      const running = async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const m = /^sluice_concurrent_executions\{function="hold"\} (\d+)/m.exec(text);
        return Number(m?.[1] ?? 0);
      };
      // The mapping's 8 batches are running or waiting for an invoke slot, plus the sync invoke.
      await eventually(async () => (await running()) >= 6, 'six async events running', {
        limitMs: 30_000,
      });
      const pid = proc.pid as number;
      for (const child of processTree([pid])) if (child !== pid) strays.add(child);

      const signalledAt = Date.now();
      proc.kill('SIGTERM');
      const code = await exited;
      await syncInvoke;
      const tookMs = exitedAt - signalledAt;

      const notable = raw.filter((l) => /"level":(40|50|60)|stopped|shutting/.test(l));
      const context = `exit ${code} after ${tookMs} ms:\n${notable.join('\n')}`;
      // The promise: gone by the deadline less its margin (2,500 ms for 3,000 ms).
      expect(tookMs, context).toBeLessThan(exitByMs(DEADLINE_MS) + OBSERVATION_SLACK_MS);
      const poolStoppedErrors = lines.filter(
        (l) => (l.level ?? 0) >= 50 && JSON.stringify(l).includes('environment pool is stopped'),
      );
      expect(poolStoppedErrors.map((l) => l.msg)).toEqual([]);
      // Work was abandoned at the deadline: the exit code says so.
      expect(code).toBe(1);
      // Keeping the deadline orphans no function process.
      const alive = (p: number) => {
        try {
          process.kill(p, 0);
          return true;
        } catch {
          return false;
        }
      };
      expect(strays.size).toBeGreaterThan(0);
      await eventually(() => [...strays].every((p) => !alive(p)), 'function processes gone', {
        limitMs: 5000,
      });
    } finally {
      await deleteQueue(sqs, queue);
      dir.cleanup();
    }
  });
});
