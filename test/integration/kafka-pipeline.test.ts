import { describe, expect, it, onTestFinished } from 'vitest';
import { kafkaFixture, NO_RETRY_LIMITS, type KafkaFixture } from './kafka-harness.ts';
import { offsetsByLane, startPipeline } from './kafka-pipeline-harness.ts';
import { eventually } from '../support/eventually.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('kafka through the engine (MappingRunner + Invoker + a real Node function)', () => {
  it('processes 100,000 records over 6 partitions exactly once, in order per partition', async () => {
    const f = await kafkaFixture(6);
    onTestFinished(() => f.cleanup());
    const total = 100_000;
    const perPartition = range(6).map((p) => Math.floor(total / 6) + (p < total % 6 ? 1 : 0));
    await Promise.all(
      perPartition.map((n, p) =>
        f.send(
          p,
          range(n).map((i) => `v-${p}-${i}`),
        ),
      ),
    );
    const pipeline = await startPipeline(f, { batchSize: 500 });
    onTestFinished(() => pipeline.stop());
    await eventually(() => pipeline.handled().length >= total, 'all 100,000 handled', {
      limitMs: 150_000,
    });
    await pipeline.stop();

    const handled = pipeline.handled();
    expect(handled).toHaveLength(total);
    expect(new Set(handled).size).toBe(total);
    const byLane = offsetsByLane(handled);
    for (const [p, n] of perPartition.entries()) {
      // Every offset once, in offset order: the function saw the partition exactly as written.
      expect(byLane.get(`${f.topic}-${p}`)).toEqual(range(n));
    }
    const committed = await f.admin.fetchOffsets({ groupId: f.groupId, topics: [f.topic] });
    const offsets = new Map(committed[0]?.partitions.map((x) => [x.partition, x.offset]));
    for (const [p, n] of perPartition.entries()) expect(offsets.get(p)).toBe(String(n));
  });

  it('a disabled mapping fetches nothing from Kafka; enabled again, every record arrives once', async () => {
    const f = await kafkaFixture(2);
    onTestFinished(() => f.cleanup());
    const pipeline = await startPipeline(f, { batchSize: 100, windowMs: 0 });
    onTestFinished(() => pipeline.stop());
    await f.send(
      0,
      range(50).map((i) => `a-${i}`),
    );
    await eventually(() => pipeline.handled().length >= 50, 'the first 50 handled', {
      limitMs: 60_000,
    });
    await pipeline.runner.disable();
    await f.send(
      0,
      range(200).map((i) => `b-${i}`),
    );
    await f.send(
      1,
      range(200).map((i) => `c-${i}`),
    );
    // Several of the consumer's fetch cycles (250 ms each): a consumer still fetching would have
    // buffered the 400 new records by now. Kept sleep: only a window shows nothing is fetched.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(pipeline.connector.bufferedRecords).toBe(0);
    expect(pipeline.handled()).toHaveLength(50);
    await pipeline.runner.enable();
    await eventually(() => pipeline.handled().length >= 450, 'all 450 handled', {
      limitMs: 60_000,
    });
    await pipeline.stop();
    expect(new Set(pipeline.handled()).size).toBe(450);
  });

  it('poison records: retried, then sent to a Kafka topic destination with their key; the rest once', async () => {
    const retry = { ...NO_RETRY_LIMITS, maximumRetryAttempts: 2 };
    const f = await kafkaFixture(2, { retry });
    onTestFinished(() => f.cleanup());
    const values = (p: number) =>
      range(300).map((i) =>
        p === 0 && i === 100 ? 'poison-a' : p === 1 && i === 250 ? 'poison-b' : `ok-${p}-${i}`,
      );
    await f.send(0, values(0), 'key-0');
    await f.send(1, values(1), 'key-1');
    const pipeline = await startPipeline(f, {
      batchSize: 100,
      retry,
      reportBatchItemFailures: true,
      poison: ['poison-a', 'poison-b'],
      poisonMode: 'report',
    });
    onTestFinished(() => pipeline.stop());
    await eventually(() => pipeline.handled().length >= 598, '598 handled', { limitMs: 60_000 });
    await pipeline.stop();

    const byLane = offsetsByLane(pipeline.handled());
    expect(byLane.get(`${f.topic}-0`)).toEqual(range(300).filter((i) => i !== 100));
    expect(byLane.get(`${f.topic}-1`)).toEqual(range(300).filter((i) => i !== 250));
    // First try + 2 retries each.
    expect(pipeline.attempts().sort()).toEqual([
      'poison-a',
      'poison-a',
      'poison-a',
      'poison-b',
      'poison-b',
      'poison-b',
    ]);
    const failures = await f.readFailures();
    expect(failures.map((x) => [x.value, x.key]).sort()).toEqual([
      ['poison-a', 'key-0'],
      ['poison-b', 'key-1'],
    ]);
    expect(failures[0]?.body).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      version: '1.0',
      KafkaBatchInfo: { batchSize: 1 },
    });
  });

  it('bisect finds the one bad record in a batch of 100', async () => {
    const retry = { ...NO_RETRY_LIMITS, maximumRetryAttempts: 1, bisectBatchOnFunctionError: true };
    const f = await kafkaFixture(1, { retry });
    onTestFinished(() => f.cleanup());
    await f.send(
      0,
      range(100).map((i) => (i === 37 ? 'bad' : `good-${i}`)),
    );
    const pipeline = await startPipeline(f, { batchSize: 100, retry, poison: ['bad'] });
    onTestFinished(() => pipeline.stop());
    await eventually(() => pipeline.handled().length >= 99, '99 handled', { limitMs: 60_000 });
    await pipeline.stop();

    expect(offsetsByLane(pipeline.handled()).get(`${f.topic}-0`)).toEqual(
      range(100).filter((i) => i !== 37),
    );
    const failures = await f.readFailures();
    expect(failures.map((x) => x.value)).toEqual(['bad']);
    const invokes = pipeline.invokes();
    expect(invokes[0]).toBe(100);
    // Halving 100 → 1 takes ~7 failing steps plus the halves that pass and one retry: far from
    // invoking the 100 records one by one.
    expect(invokes.length).toBeLessThan(30);
    expect(invokes.filter((n) => n === 1).length).toBeGreaterThanOrEqual(2);
  });

  it('with no retry settings a failing partition is blocked and retried, the others flow', async () => {
    const f = await kafkaFixture(2);
    onTestFinished(() => f.cleanup());
    await f.send(
      0,
      range(20).map((i) => (i === 3 ? 'stuck' : `s-${i}`)),
    );
    await f.send(
      1,
      range(20).map((i) => `free-${i}`),
    );
    const pipeline = await startPipeline(f, { batchSize: 10, poison: ['stuck'] });
    onTestFinished(() => pipeline.stop());
    await eventually(
      () =>
        (offsetsByLane(pipeline.handled()).get(`${f.topic}-1`)?.length ?? 0) >= 20 &&
        pipeline.attempts().length >= 4,
      'partition 1 handled and 4 attempts at the poison',
      { limitMs: 60_000 },
    );
    await pipeline.stop();
    const byLane = offsetsByLane(pipeline.handled());
    expect(byLane.get(`${f.topic}-1`)).toEqual(range(20));
    // Partition 0: without bisect the whole failing batch waits; nothing past the poison is handled.
    expect((byLane.get(`${f.topic}-0`) ?? []).every((o) => o < 3)).toBe(true);
    const committed = await f.admin.fetchOffsets({ groupId: f.groupId, topics: [f.topic] });
    const p0 = committed[0]?.partitions.find((x) => x.partition === 0);
    expect(Number(p0?.offset ?? -1)).toBeLessThanOrEqual(3);
    expect(await f.readFailures()).toEqual([]);
  });

  it('a record over 6 MB behind a retried record is sent to the failure topic once, however often its partition is retried', async () => {
    const retry = { ...NO_RETRY_LIMITS, maximumRetryAttempts: 2 };
    // 5 MiB of value is ~6.7 MB of base64 in the event: over Lambda's 6 MB cap. The topic takes it.
    const f = await kafkaFixture(1, { retry, topicConfig: { 'max.message.bytes': '8388608' } });
    onTestFinished(() => f.cleanup());
    await f.send(0, ['first', 'poison', 'b'.repeat(5 * 1024 * 1024), 'after']);
    const pipeline = await startPipeline(f, { batchSize: 10, retry, poison: ['poison'] });
    onTestFinished(() => pipeline.stop());
    // The failing batch goes out 3 times (first try + 2 retries), the big record behind it each time.
    await eventually(() => pipeline.attempts().length >= 3, 'three attempts', { limitMs: 60_000 });
    await eventually(async () => (await committedOffset(f, 0)) === '4', 'offset 4 committed', {
      limitMs: 60_000,
    });
    await pipeline.stop();

    const failures = await f.readFailures();
    const conditions = failures.map(
      (x) => (x.body.requestContext as { condition: string }).condition,
    );
    expect(conditions.sort()).toEqual([
      'MaximumPayloadSizeExceeded',
      'RetryAttemptsExhausted',
      'RetryAttemptsExhausted',
    ]);
    expect(pipeline.attempts()).toHaveLength(3);
  });

  it('binary and null keys and values reach the function as written; a failure message keeps the key bytes', async () => {
    const retry = { ...NO_RETRY_LIMITS, maximumRetryAttempts: 0 };
    const f = await kafkaFixture(1, { retry });
    onTestFinished(() => f.cleanup());
    const binaryKey = Buffer.from([0xff, 0xfe, 0x00]);
    const otherKey = Buffer.from([0xfe, 0xff, 0x00]);
    const binaryValue = Buffer.from([0x00, 0xff, 0x80, 0x7f]);
    await f.producer.send({
      topic: f.topic,
      messages: [
        { partition: 0, key: binaryKey, value: binaryValue },
        { partition: 0, key: binaryKey, value: null }, // a tombstone
        { partition: 0, key: null, value: null },
        { partition: 0, key: binaryKey, value: 'poison' },
        { partition: 0, key: otherKey, value: 'poison' },
        { partition: 0, key: 'k', value: 'end' },
      ],
    });
    const pipeline = await startPipeline(f, {
      batchSize: 10,
      retry,
      reportBatchItemFailures: true,
      poison: ['poison'],
      poisonMode: 'report',
    });
    onTestFinished(() => pipeline.stop());
    await eventually(async () => (await committedOffset(f, 0)) === '6', 'offset 6 committed', {
      limitMs: 60_000,
    });
    await pipeline.stop();

    const b64 = (x: Buffer | string) => Buffer.from(x).toString('base64');
    const firstSeen = new Map(pipeline.seen().map((r) => [r[0], r] as const));
    expect([...firstSeen.values()].sort((a, b) => a[0] - b[0])).toEqual([
      [0, b64(binaryKey), b64(binaryValue)],
      [1, b64(binaryKey), null],
      [2, null, null],
      [3, b64(binaryKey), b64('poison')],
      [4, b64(otherKey), b64('poison')],
      [5, b64('k'), b64('end')],
    ]);
    const failures = await f.readFailures();
    // Each poison record given up once, its failure message keyed with the record's own bytes.
    expect(failures.map((x) => x.rawKey?.toString('hex')).sort()).toEqual(
      [binaryKey.toString('hex'), otherKey.toString('hex')].sort(),
    );
  });
});

async function committedOffset(f: KafkaFixture, partition: number): Promise<string | undefined> {
  const committed = await f.admin.fetchOffsets({ groupId: f.groupId, topics: [f.topic] });
  return committed[0]?.partitions.find((x) => x.partition === partition)?.offset;
}
