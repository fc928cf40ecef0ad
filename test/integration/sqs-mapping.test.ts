import { ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { Engine } from '../../src/app/sluice-app.ts';
import {
  createQueue,
  deleteQueue,
  engineYaml,
  lambdaClientFor,
  mappingYaml,
  queueDepth,
  sendMessages,
  type TestQueue,
  useSqsSuite,
} from './sqs-mapping-harness.ts';
import { eventually } from '../support/eventually.ts';
import { startTestEngine } from '../support/start-test-engine.ts';
import { tempStorePath } from '../support/temp.ts';

const suite = useSqsSuite();

/** A queue, and an engine running one mapping of `recorder` on it; both cleaned up after. */
async function mapped(
  queueOptions: Parameters<typeof createQueue>[1],
  mappingLines: string[],
  engineOptions: { holdMs?: number } = {},
  sourceExtra?: string,
): Promise<{ queue: TestQueue; engine: Engine }> {
  suite.collector.reset();
  const queue = await createQueue(suite.sqs, queueOptions);
  const engine = await startTestEngine(
    engineYaml({
      collectorUrl: suite.collector.url,
      storagePath: tempStorePath().path,
      mappings: mappingYaml('m', queue.url, mappingLines, sourceExtra),
      ...engineOptions,
    }),
  );
  onTestFinished(async () => {
    await engine.stop(10_000);
    await deleteQueue(suite.sqs, queue);
  });
  return { queue, engine };
}

const drained = async (url: string) => {
  const d = await queueDepth(suite.sqs, url);
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
    await sendMessages(suite.sqs, queue.url, bodies);
    await eventually(() => suite.collector.deliveries().length >= 10_000, 'all 10,000 delivered', {
      limitMs: 120_000,
    });
    await eventually(() => drained(queue.url), 'queue empty', { limitMs: 60_000 });
    const seen = suite.collector.deliveries();
    const byBody = new Map<string, number>();
    for (const r of seen) byBody.set(r.body, (byBody.get(r.body) ?? 0) + 1);
    expect(bodies.filter((b) => !byBody.has(b))).toEqual([]); // none missing
    expect([...byBody].filter(([, n]) => n > 1)).toEqual([]); // no duplicate
    expect(seen).toHaveLength(10_000);
    expect(suite.collector.batches.every((b) => b.length <= 100)).toBe(true);
    expect(suite.collector.peak).toBeLessThanOrEqual(10);
  });

  it('ReportBatchItemFailures redelivers only the failed ids', async () => {
    const { queue } = await mapped({ visibilityTimeoutS: 2 }, [
      'batchSize: 10',
      'functionResponseTypes: [ReportBatchItemFailures]',
    ]);
    const bodies = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ n: i, ...(i % 10 === 3 ? { failUntil: 1 } : {}) }),
    );
    await sendMessages(suite.sqs, queue.url, bodies);
    await eventually(() => suite.collector.deliveries().length >= 33, 'failed ids redelivered', {
      limitMs: 60_000,
    });
    await eventually(() => drained(queue.url), 'queue empty', { limitMs: 60_000 });
    const counts = new Map<number, number>();
    for (const r of suite.collector.deliveries()) {
      const n = (JSON.parse(r.body) as { n: number }).n;
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    const twice = [...counts].filter(([, c]) => c === 2).map(([n]) => n);
    expect(twice.sort((a, b) => a - b)).toEqual([3, 13, 23]);
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((c) => c === 1 || c === 2)).toBe(true);
  });

  it('a failed message comes back only when its visibility timeout expires, like Lambda', async () => {
    const visibilityTimeoutS = 2;
    const { queue } = await mapped({ visibilityTimeoutS, maxReceiveCount: 3 }, [
      'batchSize: 10',
      'functionResponseTypes: [ReportBatchItemFailures]',
    ]);
    await sendMessages(suite.sqs, queue.url, [JSON.stringify({ poison: true })]);
    const dlq = queue.dlqUrl as string;
    // When each delivery was first seen (sampled; a late sample only makes a gap look shorter).
    const seenAtMs: number[] = [];
    await eventually(
      async () => {
        const delivered = suite.collector.deliveries().length;
        while (seenAtMs.length < delivered) seenAtMs.push(Date.now());
        return (await queueDepth(suite.sqs, dlq)).visible === 1;
      },
      'the poison message in the DLQ',
      { limitMs: 60_000 },
    );
    expect(seenAtMs).toHaveLength(3);
    const gapsMs = seenAtMs.slice(1).map((at, i) => at - (seenAtMs[i] as number));
    // At most one receive per visibility timeout (less a sampling margin): never at once.
    for (const gapMs of gapsMs) expect(gapMs).toBeGreaterThan(visibilityTimeoutS * 1000 - 500);
  });

  it('source.retryBackoff holds a failed message back instead of returning it at once', async () => {
    // The queue's own visibility timeout is 1 s: without the backoff the failed message would be
    // back within a second (the test above).
    const { queue } = await mapped(
      { visibilityTimeoutS: 1 },
      ['batchSize: 10', 'functionResponseTypes: [ReportBatchItemFailures]'],
      {},
      'retryBackoff: { baseSeconds: 120 }',
    );
    await sendMessages(suite.sqs, queue.url, [JSON.stringify({ n: 1, failUntil: 1 }), '{"n":2}']);
    await eventually(() => suite.collector.deliveries().length >= 2, 'both delivered once', {
      limitMs: 60_000,
    });
    await eventually(
      async () => (await queueDepth(suite.sqs, queue.url)).inFlight === 1,
      'the failed one held',
      { limitMs: 60_000 },
    );
    // Kept sleep: the claim is that the broker does NOT make it visible again (its own 1 s
    // visibility timeout passes); only a window on the broker's clock can show that.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // Three receive-timeouts later: still held by the 120 s backoff, delivered once.
    expect(await queueDepth(suite.sqs, queue.url)).toEqual({ visible: 0, inFlight: 1 });
    expect(
      suite.collector
        .deliveries()
        .map((r) => r.body)
        .sort(),
    ).toEqual(['{"n":2}', JSON.stringify({ n: 1, failUntil: 1 })].sort());
  });

  it('moves poison messages to the DLQ after maxReceiveCount', async () => {
    const { queue } = await mapped({ maxReceiveCount: 2, visibilityTimeoutS: 2 }, [
      'batchSize: 10',
      'functionResponseTypes: [ReportBatchItemFailures]',
    ]);
    const good = Array.from({ length: 8 }, (_, i) => JSON.stringify({ good: i }));
    const poison = [0, 1].map((i) => JSON.stringify({ poison: true, i }));
    await sendMessages(suite.sqs, queue.url, [...good, ...poison]);
    const dlq = queue.dlqUrl as string;
    await eventually(
      async () => (await queueDepth(suite.sqs, dlq)).visible === 2,
      'poison in the DLQ',
      {
        limitMs: 60_000,
      },
    );
    await eventually(() => drained(queue.url), 'main queue empty', { limitMs: 60_000 });
    const out = await suite.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect((out.Messages ?? []).map((m) => m.Body).sort()).toEqual([...poison].sort());
    const seen = suite.collector.deliveries();
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
    await sendMessages(suite.sqs, queue.url, messages);
    await eventually(
      () => suite.collector.deliveries().length >= messages.length,
      'all delivered',
      {
        limitMs: 60_000,
      },
    );
    await eventually(() => drained(queue.url), 'queue empty', { limitMs: 60_000 });
    for (const group of groups) {
      const seqs = suite.collector
        .deliveries()
        .filter((r) => r.group === group)
        .map((r) => (JSON.parse(r.body) as { seq: number }).seq);
      expect(seqs, `group ${group}`).toEqual(Array.from({ length: 20 }, (_, i) => i));
    }
    expect(suite.collector.groupOverlaps).toBe(0); // a group is never in two running batches
    expect(suite.collector.peak).toBeGreaterThan(1); // but different groups ran at the same time
    expect(suite.collector.peak).toBeLessThanOrEqual(5);
  });

  it('deletes filtered-out messages without invoking the function with them', async () => {
    const { queue } = await mapped({}, [
      'batchSize: 10',
      `filterCriteria: { filters: [ { pattern: '{"body": {"type": ["order"]}}' } ] }`,
    ]);
    const orders = Array.from({ length: 20 }, (_, i) => JSON.stringify({ type: 'order', i }));
    const others = Array.from({ length: 20 }, (_, i) => JSON.stringify({ type: 'refund', i }));
    const plain = ['not json', 'order'];
    await sendMessages(suite.sqs, queue.url, [...orders, ...others, ...plain]);
    await eventually(() => drained(queue.url), 'queue empty', { limitMs: 60_000 });
    expect(
      suite.collector
        .deliveries()
        .map((r) => r.body)
        .sort(),
    ).toEqual([...orders].sort());
  });

  it('non-JSON bodies under a body filter: matched as plain strings, the rest deleted, no crash', async () => {
    // Lambda: a plain-string body never matches a JSON pattern on `body` (and the reverse).
    const { queue, engine } = await mapped({}, [
      'batchSize: 10',
      `filterCriteria: { filters: [ { pattern: '{"body": {"type": ["order"]}}' }, { pattern: '{"body": ["plain order"]}' } ] }`,
    ]);
    const order = JSON.stringify({ type: 'order' });
    const nonJson = ['plain order', 'not json', '{"type": "order"', '[1, 2', ' ', 'é€😀 {'];
    await sendMessages(suite.sqs, queue.url, [order, ...nonJson]);
    await eventually(() => drained(queue.url), 'queue empty', { limitMs: 60_000 });
    expect(
      suite.collector
        .deliveries()
        .map((r) => r.body)
        .sort(),
    ).toEqual([order, 'plain order'].sort());
    const lambda = lambdaClientFor(engine);
    const [mapping] =
      (await lambda.send(new ListEventSourceMappingsCommand({}))).EventSourceMappings ?? [];
    expect(mapping?.State).toBe('Enabled');
  });

  it('1 MiB messages (the SQS and ElasticMQ limit) are batched under the 6 MB payload cap, none dropped', async () => {
    const { queue } = await mapped({}, ['batchSize: 10', 'maximumBatchingWindowInSeconds: 1']);
    // 1 MiB is the most a message may hold (1 MiB + 1 byte is MessageTooLong); ten of them would
    // be a 10 MB event, so the batch must be cut before 6 MB.
    const bodies = Array.from({ length: 8 }, (_, i) => `${i}`.padEnd(1024 * 1024 - 64, 'x'));
    // One by one: a SendMessageBatch holds 1 MiB in all.
    for (const MessageBody of bodies)
      await suite.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody }));
    await eventually(() => drained(queue.url), 'queue empty', { limitMs: 60_000 });
    const seen = suite.collector.deliveries().map((r) => r.body.slice(0, 1));
    expect(seen.sort()).toEqual(bodies.map((b) => b.slice(0, 1)).sort());
    const biggestBatchBytes = Math.max(
      ...suite.collector.batches.map((b) => b.reduce((sum, r) => sum + r.body.length, 0)),
    );
    expect(biggestBatchBytes).toBeLessThan(6 * 1024 * 1024);
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
      suite.sqs,
      queue.url,
      Array.from({ length: 100 }, (_, i) => `c-${i}`),
    );
    await eventually(() => suite.collector.deliveries().length >= 100, 'all delivered', {
      limitMs: 60_000,
    });
    expect(suite.collector.peak).toBeLessThanOrEqual(2);
    expect(suite.collector.peak).toBe(2);
  });
});
