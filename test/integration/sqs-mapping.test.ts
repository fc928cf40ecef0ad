import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Engine } from '../../src/engine/engine.ts';
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
import { startTestEngine } from '../support/start-test-engine.ts';
import { tempStorePath } from '../support/temp.ts';

let sqs: SQSClient;
let collector: Collector;

beforeAll(async () => {
  sqs = sqsClient();
  collector = await startCollector();
});

afterAll(async () => {
  await collector?.close();
  sqs?.destroy();
});

/** A queue, and an engine running one mapping of `recorder` on it; both cleaned up after. */
async function mapped(
  queueOptions: Parameters<typeof createQueue>[1],
  mappingLines: string[],
  engineOptions: { holdMs?: number } = {},
  sourceExtra?: string,
): Promise<{ queue: TestQueue; engine: Engine }> {
  collector.reset();
  const queue = await createQueue(sqs, queueOptions);
  const engine = await startTestEngine(
    engineYaml({
      collectorUrl: collector.url,
      storagePath: tempStorePath().path,
      mappings: mappingYaml('m', queue.url, mappingLines, sourceExtra),
      ...engineOptions,
    }),
  );
  onTestFinished(async () => {
    await engine.stop(10_000);
    await deleteQueue(sqs, queue);
  });
  return { queue, engine };
}

const drained = async (url: string) => {
  const d = await queueDepth(sqs, url);
  return d.visible === 0 && d.inFlight === 0;
};

describe('SQS event source mapping against ElasticMQ', () => {
  it('delivers 10,000 messages exactly once with batch 100 and a 1 s window', async () => {
    const { queue } = await mapped({}, [
      'batchSize: 100',
      'maximumBatchingWindowInSeconds: 1',
      'scalingConfig: { maximumConcurrency: 10 }',
    ]);
    const bodies = Array.from({ length: 10_000 }, (_, i) => `msg-${i}`);
    await sendMessages(sqs, queue.url, bodies);
    await eventually(() => collector.deliveries().length >= 10_000, 'all 10,000 delivered', {
      limitMs: 120_000,
    });
    await eventually(() => drained(queue.url), 'queue empty', { limitMs: 60_000 });
    const seen = collector.deliveries();
    const byBody = new Map<string, number>();
    for (const r of seen) byBody.set(r.body, (byBody.get(r.body) ?? 0) + 1);
    expect(bodies.filter((b) => !byBody.has(b))).toEqual([]); // none missing
    expect([...byBody].filter(([, n]) => n > 1)).toEqual([]); // no duplicate
    expect(seen).toHaveLength(10_000);
    expect(collector.batches.every((b) => b.length <= 100)).toBe(true);
    expect(collector.peak).toBeLessThanOrEqual(10);
  });

  it('ReportBatchItemFailures redelivers only the failed ids', async () => {
    const { queue } = await mapped({}, [
      'batchSize: 10',
      'functionResponseTypes: [ReportBatchItemFailures]',
    ]);
    const bodies = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ n: i, ...(i % 10 === 3 ? { failUntil: 1 } : {}) }),
    );
    await sendMessages(sqs, queue.url, bodies);
    await eventually(() => collector.deliveries().length >= 33, 'failed ids redelivered', {
      limitMs: 60_000,
    });
    await eventually(() => drained(queue.url), 'queue empty', { limitMs: 60_000 });
    const counts = new Map<number, number>();
    for (const r of collector.deliveries()) {
      const n = (JSON.parse(r.body) as { n: number }).n;
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    const twice = [...counts].filter(([, c]) => c === 2).map(([n]) => n);
    expect(twice.sort((a, b) => a - b)).toEqual([3, 13, 23]);
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((c) => c === 1 || c === 2)).toBe(true);
  });

  it('source.retryBackoff holds a failed message back instead of returning it at once', async () => {
    // The queue's own visibility timeout is 1 s: without the backoff the failed message is made
    // visible at once (the test above) and would be back within a second regardless.
    const { queue } = await mapped(
      { visibilityTimeoutS: 1 },
      ['batchSize: 10', 'functionResponseTypes: [ReportBatchItemFailures]'],
      {},
      'retryBackoff: { baseSeconds: 120 }',
    );
    await sendMessages(sqs, queue.url, [JSON.stringify({ n: 1, failUntil: 1 }), '{"n":2}']);
    await eventually(() => collector.deliveries().length >= 2, 'both delivered once', {
      limitMs: 60_000,
    });
    await eventually(
      async () => (await queueDepth(sqs, queue.url)).inFlight === 1,
      'the failed one held',
      { limitMs: 60_000 },
    );
    // Kept sleep: the claim is that the broker does NOT make it visible again (its own 1 s
    // visibility timeout passes); only a window on the broker's clock can show that.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // Three receive-timeouts later: still held by the 120 s backoff, delivered once.
    expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 0, inFlight: 1 });
    expect(
      collector
        .deliveries()
        .map((r) => r.body)
        .sort(),
    ).toEqual(['{"n":2}', JSON.stringify({ n: 1, failUntil: 1 })].sort());
  });

  it('moves poison messages to the DLQ after maxReceiveCount', async () => {
    const { queue } = await mapped({ maxReceiveCount: 2 }, [
      'batchSize: 10',
      'functionResponseTypes: [ReportBatchItemFailures]',
    ]);
    const good = Array.from({ length: 8 }, (_, i) => JSON.stringify({ good: i }));
    const poison = [0, 1].map((i) => JSON.stringify({ poison: true, i }));
    await sendMessages(sqs, queue.url, [...good, ...poison]);
    const dlq = queue.dlqUrl as string;
    await eventually(async () => (await queueDepth(sqs, dlq)).visible === 2, 'poison in the DLQ', {
      limitMs: 60_000,
    });
    await eventually(() => drained(queue.url), 'main queue empty', { limitMs: 60_000 });
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect((out.Messages ?? []).map((m) => m.Body).sort()).toEqual([...poison].sort());
    const seen = collector.deliveries();
    for (const body of good) expect(seen.filter((r) => r.body === body)).toHaveLength(1);
    // Each poison message was tried exactly maxReceiveCount times before the redrive.
    for (const body of poison) expect(seen.filter((r) => r.body === body)).toHaveLength(2);
  });

  it('FIFO keeps order within each message group while groups run in parallel', async () => {
    const { queue } = await mapped(
      { fifo: true },
      ['batchSize: 5', 'scalingConfig: { maximumConcurrency: 5 }'],
      { holdMs: 50 },
    );
    const groups = ['a', 'b', 'c', 'd', 'e', 'f'];
    const messages = [];
    for (let seq = 0; seq < 20; seq++)
      for (const group of groups) messages.push({ group, body: JSON.stringify({ group, seq }) });
    await sendMessages(sqs, queue.url, messages);
    await eventually(() => collector.deliveries().length >= messages.length, 'all delivered', {
      limitMs: 60_000,
    });
    await eventually(() => drained(queue.url), 'queue empty', { limitMs: 60_000 });
    for (const group of groups) {
      const seqs = collector
        .deliveries()
        .filter((r) => r.group === group)
        .map((r) => (JSON.parse(r.body) as { seq: number }).seq);
      expect(seqs, `group ${group}`).toEqual(Array.from({ length: 20 }, (_, i) => i));
    }
    expect(collector.groupOverlaps).toBe(0); // a group is never in two running batches
    expect(collector.peak).toBeGreaterThan(1); // but different groups ran at the same time
    expect(collector.peak).toBeLessThanOrEqual(5);
  });

  it('deletes filtered-out messages without invoking the function with them', async () => {
    const { queue } = await mapped({}, [
      'batchSize: 10',
      `filterCriteria: { filters: [ { pattern: '{"body": {"type": ["order"]}}' } ] }`,
    ]);
    const orders = Array.from({ length: 20 }, (_, i) => JSON.stringify({ type: 'order', i }));
    const others = Array.from({ length: 20 }, (_, i) => JSON.stringify({ type: 'refund', i }));
    const plain = ['not json', 'order'];
    await sendMessages(sqs, queue.url, [...orders, ...others, ...plain]);
    await eventually(() => drained(queue.url), 'queue empty', { limitMs: 60_000 });
    expect(
      collector
        .deliveries()
        .map((r) => r.body)
        .sort(),
    ).toEqual([...orders].sort());
  });

  it('never runs more batches at once than maximumConcurrency (measured in the function)', async () => {
    const { queue } = await mapped(
      {},
      ['batchSize: 5', 'scalingConfig: { maximumConcurrency: 2 }'],
      {
        holdMs: 50,
      },
    );
    await sendMessages(
      sqs,
      queue.url,
      Array.from({ length: 100 }, (_, i) => `c-${i}`),
    );
    await eventually(() => collector.deliveries().length >= 100, 'all delivered', {
      limitMs: 60_000,
    });
    expect(collector.peak).toBeLessThanOrEqual(2);
    expect(collector.peak).toBe(2);
  });
});
