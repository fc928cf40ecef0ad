/**
 * The Kafka connector's rebalance, back-pressure and commit rules against a fake client at the
 * adapter seam (the real broker runs in test/integration/kafka-*.test.ts).
 */
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type {
  CommittedOffset,
  ConsumerHandlers,
  KafkaSourceClient,
  OffsetCommit,
} from '../../connectors/kafka/kafka-client-adapter.ts';
import { KafkaConnector } from '../../connectors/kafka/kafka-connector.ts';
import { KafkaFailureSink } from '../../connectors/kafka/kafka-failure-sink.ts';
import { toSourceRecord } from '../../connectors/kafka/kafka-event.ts';
import type { Destination, DestinationMessage } from '../../src/destinations/destination.ts';
import { encodeRetryMetadata } from '../../connectors/kafka/kafka-failure-policy.ts';
import { translateKafkaError } from '../../connectors/kafka/kafka-errors.ts';
import type { SettleOutcome, SourceRecord } from '../../src/connectors/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { kafkaMetricsFor, type KafkaMetrics } from '../../connectors/kafka/kafka-metrics.ts';
import { Registry } from 'prom-client';
import { eventually } from '../support/eventually.ts';

class FakeClient implements KafkaSourceClient {
  handlers: ConsumerHandlers | undefined;
  commits: OffsetCommit[][] = [];
  committed: CommittedOffset[] = [];
  paused = new Set<number>();
  refuseCommits = false;
  async connect(): Promise<number[]> {
    return [0, 1];
  }
  async committedOffsets(): Promise<CommittedOffset[]> {
    return this.committed;
  }
  async offsetsAtTimestamp(): Promise<Map<number, string>> {
    return new Map();
  }
  async endOffsets(): Promise<Map<number, string>> {
    return new Map([
      [0, '100'],
      [1, '10'],
    ]);
  }
  runs = 0;
  refuseRuns = 0;
  async run(_s: unknown, handlers: ConsumerHandlers): Promise<void> {
    this.runs += 1;
    if (this.refuseRuns > 0) {
      this.refuseRuns -= 1;
      throw new Error('SASL authentication failed');
    }
    this.handlers = handlers;
  }
  pause(_t: string, p: number): void {
    this.paused.add(p);
  }
  resume(_t: string, p: number): void {
    this.paused.delete(p);
  }
  topicPaused = false;
  pauseTopic(): void {
    this.topicPaused = true;
  }
  resumeTopic(): void {
    this.topicPaused = false;
    this.paused.clear();
  }
  seek(): void {}
  async commit(offsets: OffsetCommit[]): Promise<void> {
    if (this.refuseCommits) throw new Error('REBALANCE_IN_PROGRESS');
    this.commits.push(offsets);
  }
  async disconnect(): Promise<void> {}
  /** Simulates a join with this assignment, waiting for the connector's offset sync. */
  async assign(partitions: number[]): Promise<void> {
    this.handlers?.onAssigned({ t: partitions });
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  async deliver(partition: number, from: number, count: number): Promise<void> {
    await this.handlers?.onBatch({
      topic: 't',
      partition,
      highWatermark: String(from + count),
      isStale: () => false,
      messages: Array.from({ length: count }, (_, i) => ({
        offset: String(from + i),
        timestamp: '0',
        key: null,
        value: Buffer.from(`v${from + i}`),
      })),
    });
  }
}

async function setup(
  tuning = {},
  metrics?: KafkaMetrics,
  o: { destination?: Destination; maximumRetryAttempts?: number } = {},
) {
  const client = new FakeClient();
  const connector = new KafkaConnector({
    ...(metrics ? { metrics } : {}),
    name: 'm',
    topic: 't',
    consumerGroupId: 'g',
    startingPosition: 'TRIM_HORIZON',
    bootstrapServers: ['b:9092'],
    batchSize: 10,
    retry: {
      maximumRetryAttempts: o.maximumRetryAttempts ?? 3,
      maximumRecordAgeMs: Number.POSITIVE_INFINITY,
      bisectBatchOnFunctionError: false,
    },
    client,
    failureSink: new KafkaFailureSink({
      destination: o.destination,
      functionArn: 'arn',
      bootstrapServers: 'b:9092',
      logger: silentLogger(),
    }),
    tuning: { retryBaseMs: 0, ...tuning },
  });
  await connector.start();
  return { client, connector };
}

const fetch = (c: KafkaConnector, max = 10) =>
  c.fetch({ max, waitMs: 0, signal: new AbortController().signal });
async function settleAndFlush(c: KafkaConnector, outcome: SettleOutcome): Promise<void> {
  await c.settle(outcome);
  await c.flushCommits();
}
const ok = (records: SourceRecord[]) => ({ succeeded: records, failed: [], dropped: [] });

describe('kafka connector (fake client)', () => {
  it('hands out nothing until the first assignment, then commits contiguous successes', async () => {
    const { client, connector } = await setup();
    await client.deliver(0, 0, 3); // before the join completes: no partition known, ignored
    expect(await fetch(connector)).toEqual([]);
    await client.assign([0, 1]);
    await client.deliver(0, 0, 3);
    const batch = await fetch(connector);
    expect(batch.map((r) => r.id)).toEqual(['t-0@0', 't-0@1', 't-0@2']);
    await settleAndFlush(connector, ok(batch));
    expect(client.commits.at(-1)).toEqual([
      { topic: 't', partition: 0, offset: '3', metadata: null },
    ]);
  });

  it('on revoke drops buffered records and ignores settles of in-flight ones (no commit)', async () => {
    const { client, connector } = await setup();
    await client.assign([0, 1]);
    await client.deliver(0, 0, 4);
    await client.deliver(1, 0, 2);
    const inFlight = await fetch(connector, 2);
    const lane = inFlight[0]?.lane;
    await client.assign(lane === 't-0' ? [1] : [0]);
    await settleAndFlush(connector, ok(inFlight));
    expect(client.commits).toEqual([]);
    const rest = await fetch(connector);
    expect(rest.every((r) => r.lane !== lane)).toBe(true);
  });

  it('coalesces the commits of settles within commitIntervalMs into one, latest offsets', async () => {
    const { client, connector } = await setup({ commitIntervalMs: 100 });
    await client.assign([0, 1]);
    await client.deliver(0, 0, 6);
    await client.deliver(1, 0, 2);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    for (let i = 0; i < 2; i++) {
      const batch = await fetch(connector, 3);
      await connector.settle(ok(batch));
    }
    await vi.advanceTimersByTimeAsync(60);
    // A settle later in the window joins it without pushing it back (no debounce: under steady
    // load a debounced commit would never be written).
    await connector.settle(ok(await fetch(connector, 3)));
    await vi.advanceTimersByTimeAsync(39);
    expect(client.commits).toEqual([]); // none yet: they wait for the interval
    await vi.advanceTimersByTimeAsync(1);
    expect(client.commits).toHaveLength(1);
    expect(client.commits[0]).toEqual(
      expect.arrayContaining([
        { topic: 't', partition: 0, offset: '6', metadata: null },
        { topic: 't', partition: 1, offset: '2', metadata: null },
      ]),
    );
  });

  it('commitIntervalMs 0 commits after every settle', async () => {
    const { client, connector } = await setup({ commitIntervalMs: 0 });
    await client.assign([0]);
    await client.deliver(0, 0, 4);
    await connector.settle(ok(await fetch(connector, 2)));
    await connector.settle(ok(await fetch(connector, 2)));
    await connector.flushCommits();
    expect(client.commits.map((c) => c.map((o) => o.offset))).toEqual([['2'], ['4']]);
  });

  it('a rebalance and stop write the waiting commit at once, not after the interval', async () => {
    const { client, connector } = await setup({ commitIntervalMs: 60_000 });
    await client.assign([0, 1]);
    await client.deliver(0, 0, 4);
    await connector.settle(ok(await fetch(connector, 2)));
    // The rebalance begins: what was settled is committed under the ending generation, so the
    // partition's next owner redoes only what was in flight.
    client.handlers?.onRebalancing();
    await connector.flushCommits();
    expect(client.commits).toEqual([[{ topic: 't', partition: 0, offset: '2', metadata: null }]]);
    await client.assign([0, 1]);
    await connector.settle(ok(await fetch(connector, 2)));
    await connector.stop();
    expect(client.commits.at(-1)).toEqual([
      { topic: 't', partition: 0, offset: '4', metadata: null },
    ]);
  });

  it('restores a previous owner’s retry count from the committed offset metadata', async () => {
    const { client, connector } = await setup();
    client.committed = [
      {
        partition: 0,
        offset: '5',
        metadata: encodeRetryMetadata({ offset: 5n, attempts: 3, firstFailureMs: 1 }),
      },
    ];
    await client.assign([0]);
    await client.deliver(0, 5, 1);
    const [record] = await fetch(connector);
    if (!record) throw new Error('no record');
    // maximumRetryAttempts 3 and three failures already: this one exhausts it.
    const decided = connector.applyFailurePolicy([record], {
      succeeded: [],
      failed: [record],
      functionError: true,
    });
    expect(decided.dropped.map((d) => d.reason)).toEqual(['RetriesExhausted']);
    await settleAndFlush(connector, { succeeded: [], ...decided });
    expect(client.commits.at(-1)).toEqual([
      { topic: 't', partition: 0, offset: '6', metadata: null },
    ]);
  });

  it('writes the retry count with the commit of the failing offset', async () => {
    const { client, connector } = await setup();
    await client.assign([0]);
    await client.deliver(0, 0, 3);
    const batch = await fetch(connector);
    const [first, ...rest] = batch;
    if (!first) throw new Error('no record');
    const decided = connector.applyFailurePolicy(rest, {
      succeeded: [first],
      failed: rest,
      functionError: false,
    });
    await settleAndFlush(connector, { succeeded: [first], ...decided });
    const commit = client.commits.at(-1)?.[0];
    expect(commit?.offset).toBe('1');
    expect(commit?.metadata).toContain('"o":"1","a":1');
    expect((await fetch(connector)).map((r) => r.id)).toEqual(['t-0@1', 't-0@2']);
  });

  it('pauses a partition whose buffer is full and resumes it once drained', async () => {
    const { client, connector } = await setup({ bufferRecords: 10 });
    await client.assign([0]);
    await client.deliver(0, 0, 12);
    expect(client.paused.has(0)).toBe(true);
    const batch = await fetch(connector, 10);
    expect(client.paused.has(0)).toBe(false);
    await settleAndFlush(connector, ok(batch));
  });

  it('stop during a rebalance still writes what was settled', async () => {
    const { client, connector } = await setup({ commitIntervalMs: 60_000 });
    await client.assign([0]);
    await client.deliver(0, 0, 4);
    const batch = await fetch(connector, 2);
    client.handlers?.onRebalancing();
    await connector.settle(ok(batch)); // settled while the group re-forms
    await connector.stop();
    expect(client.commits.at(-1)).toEqual([
      { topic: 't', partition: 0, offset: '2', metadata: null },
    ]);
  });

  it('counts a refused commit as an error, but not one refused while a rebalance runs', async () => {
    const metrics = kafkaMetricsFor(new Registry());
    const errors = async () => (await metrics.commitErrors.get()).values[0]?.value ?? 0;
    const { client, connector } = await setup({}, metrics);
    await client.assign([0]);
    await client.deliver(0, 0, 4);
    client.refuseCommits = true;
    await settleAndFlush(connector, ok(await fetch(connector, 2)));
    expect(await errors()).toBe(1);
    client.handlers?.onRebalancing(); // its flush is refused too: routine, not an error
    await connector.flushCommits();
    expect(await errors()).toBe(1);
    expect(client.commits).toEqual([]);
  });

  it('pause stops the consumer fetching the topic until resume; buffered records stay', async () => {
    const { client, connector } = await setup({ bufferRecords: 10 });
    await client.assign([0]);
    await client.deliver(0, 0, 12); // a full buffer: partition 0 paused for back-pressure
    connector.pause();
    expect(client.topicPaused).toBe(true);
    expect(connector.bufferedRecords).toBe(12);
    connector.resume();
    expect(client.topicPaused).toBe(false);
    expect((await fetch(connector, 10)).map((r) => r.id)[0]).toBe('t-0@0');
  });

  it('rejoins with back-off after a crash kafkajs does not restart from; stop cancels it', async () => {
    const { client, connector } = await setup({ retryBaseMs: 100, retryMaxMs: 400 });
    await client.assign([0]);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    // A crash kafkajs restarts from itself: nothing for the connector to do.
    client.handlers?.onCrash(new Error('ECONNRESET'), true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(client.runs).toBe(1);
    // One it gives up on: the connector joins again, backing off while the join is refused.
    client.refuseRuns = 1;
    client.handlers?.onCrash(new Error('SASL authentication failed'), false);
    expect(connector.health().ok).toBe(false);
    await vi.advanceTimersByTimeAsync(99);
    expect(client.runs).toBe(1); // not at once
    await vi.advanceTimersByTimeAsync(1);
    expect(client.runs).toBe(2); // after 100 ms: refused
    await vi.advanceTimersByTimeAsync(199);
    expect(client.runs).toBe(2); // the next after twice as long
    await vi.advanceTimersByTimeAsync(1);
    expect(client.runs).toBe(3); // joined
    // And a stop while a rejoin is pending cancels it.
    client.handlers?.onCrash(new Error('SASL authentication failed'), false);
    await connector.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(client.runs).toBe(3);
  });

  it('keeps a refused commit pending and writes it after the next join', async () => {
    const { client, connector } = await setup();
    await client.assign([0]);
    await client.deliver(0, 0, 2);
    client.refuseCommits = true;
    await settleAndFlush(connector, ok(await fetch(connector)));
    expect(client.commits).toEqual([]);
    client.refuseCommits = false;
    await client.assign([0]);
    await eventually(
      () =>
        expect(client.commits.at(-1)).toEqual([
          { topic: 't', partition: 0, offset: '2', metadata: null },
        ]),
      'the pending commit written after the join',
    );
  });

  it('reports the summed offset lag of its partitions as the backlog', async () => {
    const { client, connector } = await setup();
    client.committed = [
      { partition: 0, offset: '40', metadata: null },
      { partition: 1, offset: '10', metadata: null },
    ];
    await client.assign([0, 1]);
    expect(await connector.backlog()).toBe(60);
  });
});

describe('kafka error translation', () => {
  const where = { brokers: '127.0.0.1:9093', topic: 't' };
  /** kafkajs's shape: a retries-exceeded error whose originalError is the connection error. */
  const wrapped = (message: string) => {
    const connection = Object.assign(new Error(`Connection error: ${message}`), {
      name: 'KafkaJSConnectionError',
    });
    return Object.assign(new Error(connection.message), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      originalError: connection,
    });
  };

  it.each([
    'unable to verify the first certificate',
    'self-signed certificate in certificate chain',
    'C00C45C3A07F0000:error:0A000412:SSL routines:ssl3_read_bytes:ssl/tls alert bad certificate:../deps/openssl',
    'C0:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required',
    "Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list",
  ])('a TLS failure (%s) is an authentication error, not an unreachable broker', (message) => {
    const { health, error } = translateKafkaError(wrapped(message), 'connect', where);
    expect(health.reason).toBe('EVENT_SOURCE_AUTHN_ERROR');
    expect(error.message).toContain('TLS with Kafka brokers 127.0.0.1:9093 failed');
    expect(error.canRetry).toBe(true);
  });

  it('a refused connection stays EVENT_SOURCE_UNREACHABLE', () => {
    const { health } = translateKafkaError(
      wrapped('connect ECONNREFUSED 127.0.0.1:9093'),
      'connect',
      where,
    );
    expect(health.reason).toBe('EVENT_SOURCE_UNREACHABLE');
  });
});

describe('kafka onFailure delivery (fake destination)', () => {
  const record = (offset: number, valueBytes: number) =>
    toSourceRecord(
      't',
      0,
      { offset: String(offset), timestamp: '0', key: null, value: Buffer.alloc(valueBytes, 97) },
      1,
    );

  it('leaves the payload out of records over 200 KiB (oversized ones too), keeps it for small ones', async () => {
    const sent: DestinationMessage[] = [];
    const sink = new KafkaFailureSink({
      destination: {
        description: 'fake',
        send: async (m) => void sent.push(m),
        stop: async () => {},
      },
      functionArn: 'arn',
      bootstrapServers: 'b:9092',
      logger: silentLogger(),
    });
    await sink.deliver([
      { record: record(1, 10), reason: 'RetriesExhausted' },
      { record: record(2, 300 * 1024), reason: 'RetriesExhausted' },
      { record: record(3, 7 * 1024 * 1024), reason: 'MaximumPayloadSizeExceeded' },
    ]);
    const bodies = sent.map((m) => JSON.parse(m.body) as Record<string, unknown>);
    expect(bodies.map((b) => 'payload' in b)).toEqual([true, false, false]);
    // Every body still fits an SQS message and names its record.
    expect(sent.every((m) => Buffer.byteLength(m.body) < 256 * 1024)).toBe(true);
    expect(bodies[1]).toMatchObject({
      KafkaBatchInfo: { recordsInfo: { 't-0': { firstRecordOffset: '2' } } },
    });
    expect(bodies[2]).toMatchObject({
      requestContext: { condition: 'MaximumPayloadSizeExceeded' },
    });
  });

  it('a refusing destination is not asked again at once: the partition waits', async () => {
    let sends = 0;
    const refusing: Destination = {
      description: 'refusing',
      send: async () => {
        sends += 1;
        throw new Error('MessageTooLong');
      },
      stop: async () => {},
    };
    const { client, connector } = await setup({ retryMaxMs: 60_000 }, undefined, {
      destination: refusing,
      maximumRetryAttempts: 0,
    });
    await client.assign([0]);
    await client.deliver(0, 0, 1);
    const [only] = await fetch(connector);
    if (!only) throw new Error('no record');
    await connector.settle({
      succeeded: [],
      failed: [],
      dropped: [{ record: only, reason: 'MaximumPayloadSizeExceeded' }],
    });
    expect(sends).toBe(1);
    // Back in the partition (never lost), but not offered again before the retry delay.
    expect(await fetch(connector)).toEqual([]);
    expect(client.commits).toEqual([]);
    await connector.stop();
  });
});
