/**
 * The RabbitMQ connector through the whole pipeline (bundle → MappingRunner → Invoker → a real Node
 * function) on the real broker: exactly-once on success in parallel, queue order with concurrency 1
 * across a failed batch, poison messages dead-lettered after the set retries (DLX, and the parking
 * queue when the queue has none), and recovery from a connection closed by the broker.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parkingQueueName } from '../../connectors/rabbitmq/index.ts';
import { startEngineRun, type EngineRun } from './rabbitmq-engine-harness.ts';
import {
  connectionsNamed,
  createQueue,
  killConnections,
  publishWithRawLongString,
  type TestQueue,
} from './rabbitmq-helpers.ts';

const bodiesOf = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);

let cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups = [];
});

async function queue(options: Parameters<typeof createQueue>[0]): Promise<TestQueue> {
  const q = await createQueue(options);
  cleanups.push(() => q.cleanup());
  return q;
}

async function run(o: Parameters<typeof startEngineRun>[0]): Promise<EngineRun> {
  const r = await startEngineRun(o);
  cleanups.push(() => r.dispose());
  return r;
}

const waitFor = (check: () => void | Promise<void>, timeout = 60_000) =>
  vi.waitFor(check, { timeout, interval: 200 });

describe('RabbitMQ mapping through the engine', () => {
  it('processes 20,000 messages exactly once with concurrency 8', async () => {
    const q = await queue({ prefix: 'exactly-once' });
    const bodies = bodiesOf('m', 20_000);
    await q.publish(bodies);
    const r = await run({ queue: q.queue, name: q.queue, batchSize: 100, maximumConcurrency: 8 });
    await waitFor(
      () => expect(r.processed().length).toBeGreaterThanOrEqual(bodies.length),
      120_000,
    );
    await r.stop();
    const processed = r.processed();
    expect(processed).toHaveLength(bodies.length);
    expect(new Set(processed).size).toBe(bodies.length);
    expect(await q.messageCount()).toBe(0);
    expect(r.runner.status().lastProcessingResult).toBe('OK');
  });

  it('climbs from one invoke at a time to maximumConcurrency when the function is slow', async () => {
    const q = await queue({ prefix: 'tuned' });
    const bodies = bodiesOf('s', 6_000);
    await q.publish(bodies);
    // 100 ms a batch of 10: one at a time drains 100 messages/s, eight at once 800/s.
    const r = await run({
      queue: q.queue,
      name: q.queue,
      batchSize: 10,
      maximumBatchingWindowMs: 0,
      maximumConcurrency: 8,
      env: { DELAY_MS: '100' },
    });
    // The tuner starts where Lambda runs RabbitMQ: one batch at a time.
    const levels = [r.runner.status().invokeLimit];
    await waitFor(() => {
      levels.push(r.runner.status().invokeLimit);
      expect(r.processed().length).toBeGreaterThanOrEqual(bodies.length);
    }, 120_000);
    await r.stop();
    expect(levels[0]).toBe(1);
    expect(Math.max(...levels)).toBe(8);
    const processed = r.processed();
    expect(processed).toHaveLength(bodies.length);
    expect(new Set(processed).size).toBe(bodies.length);
  });

  it('keeps queue order with concurrency 1, also across a failed batch (requeue keeps position)', async () => {
    const q = await queue({ prefix: 'ordered' });
    const bodies = bodiesOf('o', 1500);
    await q.publish(bodies);
    const r = await run({
      queue: q.queue,
      name: q.queue,
      batchSize: 50,
      maximumConcurrency: 1,
      env: { MODE: 'fail-once', FAIL_BODY: 'o-00420' },
    });
    await waitFor(() => expect(r.processed().length).toBeGreaterThanOrEqual(bodies.length));
    await r.stop();
    // Only successful batches are written: their sequence is exactly the publish order.
    expect(r.processed()).toEqual(bodies);
  });

  it('dead-letters poison messages to the queue DLX after maximumRetryAttempts; the rest once', async () => {
    const q = await queue({ prefix: 'poison' });
    const healthy = bodiesOf('ok', 294);
    const poison = bodiesOf('poison', 6);
    const bodies = [...healthy.slice(0, 100), ...poison, ...healthy.slice(100)];
    await q.publish(bodies, (body) => ({ messageId: `id-${body}` }));
    const retries = 2;
    const r = await run({
      queue: q.queue,
      name: q.queue,
      batchSize: 25,
      maximumConcurrency: 4,
      maximumRetryAttempts: retries,
      reportBatchItemFailures: true,
      env: { MODE: 'poison' },
    });
    const dlq = q.dlq ?? '';
    await waitFor(async () => expect(await q.messageCount(dlq)).toBe(poison.length));
    await waitFor(() => expect(r.processed()).toHaveLength(healthy.length));
    await r.stop();
    expect([...r.processed()].sort()).toEqual([...healthy].sort());
    // Each poison message reached the function 1 + maximumRetryAttempts times, then the DLX.
    const attempts = r.attempts();
    for (const p of poison) expect(attempts.filter((a) => a === p)).toHaveLength(retries + 1);
    const dead = await q.drain(dlq);
    expect(dead.map((m) => m.body).sort()).toEqual(poison);
    // The classic queue's count travelled with the message (republished copies).
    for (const m of dead) expect(m.headers['x-sluice-delivery-count']).toBe(retries);
    expect(await q.messageCount()).toBe(0);
  });

  it('without a DLX or destination, exhausted messages go to the parking queue (quorum queue)', async () => {
    const q = await queue({ prefix: 'parking', type: 'quorum', dlx: false });
    const bodies = [...bodiesOf('ok', 60), ...bodiesOf('poison', 3)];
    await q.publish(bodies, (body) => ({ messageId: `id-${body}` }));
    const r = await run({
      queue: q.queue,
      name: q.queue,
      batchSize: 10,
      maximumConcurrency: 2,
      maximumRetryAttempts: 1,
      reportBatchItemFailures: true,
      env: { MODE: 'poison' },
    });
    const parking = parkingQueueName(q.queue);
    await waitFor(async () => expect(await q.messageCount(parking).catch(() => 0)).toBe(3));
    await r.stop();
    const parked = await q.drain(parking);
    expect(parked.map((m) => m.body).sort()).toEqual(bodiesOf('poison', 3));
    expect(parked[0]?.headers['x-sluice-dead-letter-reason']).toBe('RetriesExhausted');
    // Quorum queues count redeliveries themselves: requeued in place, 2 attempts each.
    for (const p of bodiesOf('poison', 3))
      expect(r.attempts().filter((a) => a === p)).toHaveLength(2);
  });

  it('a header that is not UTF-8 reaches the function, the retried copy and the parking queue with its bytes unchanged', async () => {
    const q = await queue({ prefix: 'raw-header', dlx: false });
    const raw = Buffer.from([0x61, 0xff, 0xfe, 0x62, 0xc3, 0x28, 0x80, 0x7a]);
    await publishWithRawLongString(
      q.connection,
      q.queue,
      'poison-raw',
      { messageId: 'id-raw', headers: { text: 'héllo', n: 7 } },
      'raw',
      raw,
    );
    const headersFile = join(mkdtempSync(join(tmpdir(), 'rmq-headers-')), 'headers.jsonl');
    const r = await run({
      queue: q.queue,
      name: q.queue,
      batchSize: 10,
      maximumConcurrency: 1,
      maximumRetryAttempts: 1,
      reportBatchItemFailures: true,
      env: { MODE: 'poison', HEADERS_FILE: headersFile },
    });
    const parking = parkingQueueName(q.queue);
    await waitFor(async () => expect(await q.messageCount(parking).catch(() => 0)).toBe(1));
    await r.stop();

    // The first delivery and the republished retry: the function saw the bytes both times, as
    // Lambda shows a long string ({"bytes":[…]}).
    const seen = readFileSync(headersFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(seen).toHaveLength(2);
    for (const headers of seen) {
      expect(headers).toMatchObject({
        raw: { bytes: [...raw] },
        text: { bytes: [...Buffer.from('héllo')] },
        n: 7,
      });
    }
    const [parked] = await q.drain(parking);
    expect(parked?.body).toBe('poison-raw');
    const value = parked?.headers.raw;
    expect(Buffer.from(value as Buffer | string).toString('hex')).toBe(raw.toString('hex'));
    expect(parked?.headers.text).toBe('héllo');
  });

  it('a message over 6 MB is never invoked: it goes to the parking queue named MaximumPayloadSizeExceeded', async () => {
    const q = await queue({ prefix: 'oversized', dlx: false });
    // 5 MiB of body is ~6.7 MB of base64 in the event: over Lambda's 6 MB cap (not the broker's).
    const big = 'b'.repeat(5 * 1024 * 1024);
    await q.publish(['ok-1', big, 'ok-2'], (_, i) => ({ messageId: `id-${i}` }));
    const r = await run({ queue: q.queue, name: q.queue, batchSize: 10, maximumConcurrency: 1 });
    const parking = parkingQueueName(q.queue);
    await waitFor(async () => expect(await q.messageCount(parking).catch(() => 0)).toBe(1));
    await waitFor(() => expect(r.processed()).toHaveLength(2));
    await r.stop();
    expect([...r.processed()].sort()).toEqual(['ok-1', 'ok-2']);
    const [parked] = await q.drain(parking);
    expect(parked?.body.length).toBe(big.length);
    expect(parked?.headers['x-sluice-dead-letter-reason']).toBe('MaximumPayloadSizeExceeded');
    expect(await q.messageCount()).toBe(0);
  });

  it('recovers when the broker closes its connection mid-run, losing nothing', async () => {
    const q = await queue({ prefix: 'killed' });
    const bodies = bodiesOf('k', 3000);
    const r = await run({
      queue: q.queue,
      name: q.queue,
      batchSize: 10,
      maximumConcurrency: 4,
      env: { DELAY_MS: '20' },
    });
    // The connection the mapping opened is named after it in the management API.
    await waitFor(async () => expect(await connectionsNamed(`sluice:${q.queue}`)).toHaveLength(1));
    await q.publish(bodies);
    await waitFor(() => expect(r.processed().length).toBeGreaterThan(300));
    expect(await killConnections(`sluice:${q.queue}`)).toBe(1);
    // Killed mid-run: the rest is still to come, through a new connection.
    expect(new Set(r.processed()).size).toBeLessThan(bodies.length);
    await waitFor(() => expect(new Set(r.processed()).size).toBe(bodies.length), 90_000);
    await waitFor(async () => expect(await connectionsNamed(`sluice:${q.queue}`)).toHaveLength(1));
    expect(r.runner.status().sourceHealthy).toBe(true);
    await r.stop();
    expect(new Set(r.processed())).toEqual(new Set(bodies));
    expect(await q.messageCount()).toBe(0);
  });
});
