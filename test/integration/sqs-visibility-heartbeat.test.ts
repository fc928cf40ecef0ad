import { describe, expect, it, onTestFinished } from 'vitest';
import {
  createQueue,
  deleteQueue,
  engineYaml,
  mappingYaml,
  queueDepth,
  sendMessages,
  type TestQueue,
  useSqsSuite,
} from './sqs-mapping-harness.ts';
import { eventually } from '../support/eventually.ts';
import { startTestEngine } from '../support/start-test-engine.ts';
import { tempStorePath } from '../support/temp.ts';

/**
 * A queue whose VisibilityTimeout is far shorter than the time records wait inside sluice (a
 * batching window, a slow function): sluice keeps every received record invisible until it is
 * settled, so nothing is received twice and, with a redrive policy of 2 receives, nothing that
 * succeeds is dead-lettered. AWS advises a visibility timeout of at least the function timeout
 * plus the window; sluice does not need it.
 */
const suite = useSqsSuite();

async function mapped(mappingLines: string[], holdMs = 0): Promise<TestQueue> {
  suite.collector.reset();
  const queue = await createQueue(suite.sqs, { visibilityTimeoutS: 1, maxReceiveCount: 2 });
  const engine = await startTestEngine(
    engineYaml({
      collectorUrl: suite.collector.url,
      storagePath: tempStorePath().path,
      mappings: mappingYaml('m', queue.url, mappingLines),
      holdMs,
    }),
  );
  onTestFinished(async () => {
    await engine.stop(10_000);
    await deleteQueue(suite.sqs, queue);
  });
  return queue;
}

/** Every message delivered once, on its first receive; the queue and its DLQ end empty. */
async function expectEachDeliveredOnce(queue: TestQueue, bodies: string[]): Promise<void> {
  await eventually(
    async () => {
      const d = await queueDepth(suite.sqs, queue.url);
      return d.visible === 0 && d.inFlight === 0;
    },
    'queue empty',
    { limitMs: 60_000 },
  );
  const seen = suite.collector.deliveries();
  expect(seen.map((r) => r.body).sort()).toEqual([...bodies].sort());
  expect(seen.filter((r) => r.receiveCount !== 1)).toEqual([]);
  expect(await queueDepth(suite.sqs, queue.dlqUrl as string)).toEqual({ visible: 0, inFlight: 0 });
}

describe('SQS mapping: received messages stay invisible until settled (VisibilityTimeout 1 s)', () => {
  it('a 3 s batching window delivers each message once and dead-letters none', async () => {
    const queue = await mapped(['batchSize: 10', 'maximumBatchingWindowInSeconds: 3']);
    const bodies = Array.from({ length: 5 }, (_, i) => `w-${i}`);
    await sendMessages(suite.sqs, queue.url, bodies);
    await eventually(() => suite.collector.deliveries().length >= 5, 'all delivered', {
      limitMs: 60_000,
    });
    await expectEachDeliveredOnce(queue, bodies);
  });

  it('batches waiting for a function slower than the timeout are delivered once, none dead-lettered', async () => {
    // Two invokes at a time, each held 2.5 s: the other batches wait at the invoke gate.
    const queue = await mapped(['batchSize: 2', 'scalingConfig: { maximumConcurrency: 2 }'], 2500);
    const bodies = Array.from({ length: 10 }, (_, i) => `g-${i}`);
    await sendMessages(suite.sqs, queue.url, bodies);
    await eventually(() => suite.collector.deliveries().length >= 10, 'all delivered', {
      limitMs: 60_000,
    });
    await expectEachDeliveredOnce(queue, bodies);
  });
});
