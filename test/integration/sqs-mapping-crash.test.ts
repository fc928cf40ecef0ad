import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  createQueue,
  deleteQueue,
  engineYaml,
  mappingYaml,
  queueDepth,
  sendMessages,
  sqsClient,
  startCollector,
  type Collector,
  type TestQueue,
} from './sqs-mapping-harness.ts';
import { eventually } from '../support/eventually.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'src/cli/main.ts');

let sqs: SQSClient;
let collector: Collector;
let queue: TestQueue | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  sqs = sqsClient();
  collector = await startCollector();
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  if (queue) await deleteQueue(sqs, queue);
  await collector?.close();
  sqs?.destroy();
});

/** `sluice start` from source as its own process group, so a SIGKILL takes it down like a crash. */
function startSluice(configPath: string): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'start', '--config', configPath], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  children.push(child);
  return child;
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((done) => child.once('exit', () => done()));

describe('SQS mapping: SIGKILL mid-batch', () => {
  it('loses nothing: the held batch comes back after its visibility timeout', async () => {
    // A short VisibilityTimeout so the crashed batch's records come back within seconds.
    queue = await createQueue(sqs, { visibilityTimeoutS: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'sluice-crash-'));
    const storagePath = join(dir, 'state.db');
    const mappings = mappingYaml('crashy', queue.url, [
      'batchSize: 10',
      'scalingConfig: { maximumConcurrency: 2 }',
    ]);
    const write = (name: string, holdMs: number) => {
      const path = join(dir, name);
      writeFileSync(
        path,
        engineYaml({ collectorUrl: collector.url, storagePath, mappings, holdMs }),
      );
      return path;
    };
    const bodies = Array.from({ length: 40 }, (_, i) => `crash-${i}`);
    await sendMessages(sqs, queue.url, bodies);

    // First run: the function holds its batch far longer than the test lasts.
    const first = startSluice(write('slow.yaml', 600_000));
    await eventually(() => collector.batches.length >= 1, 'a batch in the function', {
      limitMs: 60_000,
    });
    const held = collector.deliveries().map((r) => r.body);
    process.kill(-(first.pid as number), 'SIGKILL');
    // A machine crash takes the function processes too (they run in their own groups).
    for (const pid of collector.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited(first);
    expect(held.length).toBeGreaterThan(0);

    // Second run on the same store, with a fast function.
    const second = startSluice(write('fast.yaml', 0));
    const times = (body: string) => collector.deliveries().filter((r) => r.body === body).length;
    // The records the crashed run held were seen once already; they must come back again.
    await eventually(
      () => bodies.every((b) => times(b) >= (held.includes(b) ? 2 : 1)),
      'every message delivered after the restart, the crashed batch again',
      { limitMs: 60_000 },
    );
    const seen = collector.deliveries();
    for (const body of held) expect(seen.filter((r) => r.body === body).length).toBeGreaterThan(1);
    await eventually(
      async () => {
        const d = await queueDepth(sqs, (queue as TestQueue).url);
        return d.visible === 0 && d.inFlight === 0;
      },
      'queue empty',
      { limitMs: 60_000 },
    );
    second.kill('SIGTERM');
    await exited(second);
    expect(second.exitCode).toBe(0);
  });
});
