/**
 * SIGKILL of a running sluice (`node src/cli/main.ts start --config …`, a YAML config with a
 * RabbitMQ mapping) while a batch is inside the function: nothing was acked, so the broker returns
 * every in-flight message to the queue once the process's connection drops — all of them come
 * back, marked redelivered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'amqplib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FUNCTION_SOURCE } from './rabbitmq-engine-harness.ts';
import { createQueue, rabbit, type TestQueue } from './rabbitmq-helpers.ts';
import { tempDir, writeNodeFunction } from '../support/temp.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MESSAGES = 100;
const BATCH = 20;

let child: ChildProcess | undefined;
let q: TestQueue | undefined;
let dir: string | undefined;
afterEach(async () => {
  if (child?.pid && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (dir) killEnvironmentsOf(dir);
  await q?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Execution environments run in their own process groups, so the SIGKILL of sluice leaves this
 * test's hanging function orphaned: find it by the test's unique folder in its environment.
 */
function killEnvironmentsOf(folder: string): void {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(folder))
        process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone, or not ours to read
    }
  }
}

describe('RabbitMQ mapping under SIGKILL', () => {
  it('returns the unacked messages of a batch in flight to the queue', async () => {
    q = await createQueue({ prefix: 'sigkill', dlx: false });
    dir = tempDir('rmqtest-crash-').path;
    writeNodeFunction(dir, FUNCTION_SOURCE, 'fn');
    const outFile = join(dir, 'out.txt');
    writeFileSync(outFile, '');
    const configFile = join(dir, 'sluice.yaml');
    writeFileSync(
      configFile,
      [
        'api: { host: 127.0.0.1, port: 0 }',
        "storage: { path: ':memory:' }",
        'logging: { level: warn }',
        'functions:',
        '  hang:',
        '    runtime: nodejs22.x',
        '    handler: index.handler',
        '    code: ./fn',
        '    timeout: 300',
        `    environment: { MODE: hang, OUT_FILE: ${JSON.stringify(outFile)} }`,
        'connections:',
        `  rmq: { type: rabbitmq, url: ${JSON.stringify(rabbit().amqpUrl)} }`,
        'mappings:',
        '  - name: crash',
        '    function: hang',
        `    source: { connection: rmq, queue: ${q.queue}, virtualHost: / }`,
        `    batchSize: ${BATCH}`,
        '    maximumBatchingWindowInSeconds: 0.2',
        '',
      ].join('\n'),
    );
    const bodies = Array.from({ length: MESSAGES }, (_, i) => `c-${i}`);
    await q.publish(bodies);

    // Its own process group, so SIGKILL takes the function's environment down with it.
    child = spawn(process.execPath, ['src/cli/main.ts', 'start', '--config', configFile], {
      cwd: ROOT,
      detached: true,
      stdio: 'ignore',
    });
    const inFunction = () => readFileSync(outFile, 'utf8').split('\n').filter(Boolean);
    await vi.waitFor(() => expect(inFunction()).toHaveLength(BATCH), {
      timeout: 60_000,
      interval: 200,
    });
    const queue = q;
    // A batch is in the function and unacked: the queue holds only the rest.
    expect(await queue.messageCount()).toBe(MESSAGES - BATCH);

    if (child.pid) process.kill(-child.pid, 'SIGKILL');
    await vi.waitFor(async () => expect(await queue.messageCount()).toBe(MESSAGES), {
      timeout: 30_000,
      interval: 200,
    });

    // Every message is there; the ones the dead process held come back marked redelivered.
    const conn = await connect(rabbit().amqpUrl);
    const ch = await conn.createChannel();
    const got: { body: string; redelivered: boolean }[] = [];
    for (;;) {
      const msg = await ch.get(queue.queue, { noAck: true });
      if (msg === false) break;
      got.push({ body: msg.content.toString(), redelivered: msg.fields.redelivered });
    }
    await conn.close();
    expect(got.map((m) => m.body).sort()).toEqual([...bodies].sort());
    expect(
      got
        .filter((m) => m.redelivered)
        .map((m) => m.body)
        .sort(),
    ).toEqual([...inFunction()].sort());
  });
});
