import { describe, expect, it } from 'vitest';
import { MemoryConnector } from '../support/memory-connector/memory-connector.ts';
import { ManualClock, MemorySource } from '../support/memory-connector/memory-source.ts';
import type { FetchRequest, SourceRecord } from '../../src/connectors/types.ts';
import { describeConnectorConformance } from './connector-conformance.ts';

describeConnectorConformance('memory', async () => {
  const clock = new ManualClock();
  const source = new MemorySource({ now: clock.now });
  const opened: MemoryConnector[] = [];
  const open = async () => {
    const connector = new MemoryConnector({ source });
    await connector.start();
    opened.push(connector);
    return connector;
  };
  return {
    connector: await open(),
    lanes: true,
    fetchWaitMs: 50,
    publish: async (bodies, { lane } = {}) => {
      source.push(bodies, { lane });
    },
    bodyOf: (record) => (record.event as { body: string }).body,
    openConnector: open,
    expireReservations: async () => {
      clock.advance(source.visibilityTimeoutMs + 1);
      source.notify();
    },
    failurePath: async () => source.deadLetters.map((letter) => letter.body),
    cleanup: async () => {
      await Promise.all(opened.map((connector) => connector.stop()));
    },
  };
});

function request(overrides: Partial<FetchRequest> = {}): FetchRequest {
  return { max: 10, waitMs: 0, signal: new AbortController().signal, ...overrides };
}

async function setup(options: ConstructorParameters<typeof MemorySource>[0] = {}) {
  const clock = new ManualClock();
  const source = new MemorySource({ now: clock.now, visibilityTimeoutMs: 1000, ...options });
  const connector = new MemoryConnector({ source });
  await connector.start();
  return { clock, source, connector };
}

const ok = (succeeded: SourceRecord[]) => ({ succeeded, failed: [], dropped: [] });

describe('memory connector', () => {
  it('keeps a record invisible for the visibility timeout, then redelivers it', async () => {
    const { clock, source, connector } = await setup();
    source.push(['v-1']);
    const [first] = await connector.fetch(request());
    expect(first?.event).toMatchObject({
      body: 'v-1',
      attributes: { ApproximateReceiveCount: '1' },
    });
    expect(source.inFlight.map((m) => m.id)).toEqual([first?.id]);
    clock.advance(999);
    expect(await connector.fetch(request())).toEqual([]);
    clock.advance(1);
    const [again] = await connector.fetch(request());
    expect(again?.event).toMatchObject({ attributes: { ApproximateReceiveCount: '2' } });
  });

  it('a heartbeat extends the reservation past the original timeout', async () => {
    const { clock, source, connector } = await setup();
    source.push(['hb']);
    const records = await connector.fetch(request());
    clock.advance(900);
    await connector.heartbeat(records);
    clock.advance(900);
    expect(await connector.fetch(request())).toEqual([]);
    expect(source.counters.heartbeats).toBe(1);
    expect(connector.heartbeatIntervalMs).toBe(333);
  });

  it('redrives to deadLetters after maxReceiveCount failed deliveries', async () => {
    const { source, connector } = await setup({ maxReceiveCount: 2 });
    source.push(['poison']);
    for (let i = 0; i < 2; i++) {
      const records = await connector.fetch(request());
      await connector.settle({ succeeded: [], failed: records, dropped: [] });
    }
    expect(await connector.fetch(request())).toEqual([]);
    expect(source.deadLetters).toEqual([
      { id: 'm-1', lane: '', body: 'poison', receiveCount: 2, reason: 'maxReceiveCount' },
    ]);
    expect(source.counters).toMatchObject({ received: 2, returned: 2, redriven: 1 });
  });

  it('dropped records go to deadLetters with their reason', async () => {
    const { source, connector } = await setup();
    source.push(['big']);
    const [record] = await connector.fetch(request());
    if (!record) throw new Error('no record');
    await connector.settle({
      succeeded: [],
      failed: [],
      dropped: [{ record, reason: 'MaximumPayloadSizeExceeded', detail: '7 MB' }],
    });
    expect(source.deadLetters).toMatchObject([
      { body: 'big', reason: 'MaximumPayloadSizeExceeded', detail: '7 MB' },
    ]);
    expect(source.size).toBe(0);
  });

  it('failed records wait out failedVisibilityTimeoutMs', async () => {
    const clock = new ManualClock();
    const source = new MemorySource({ now: clock.now });
    const connector = new MemoryConnector({ source, failedVisibilityTimeoutMs: 5000 });
    await connector.start();
    source.push(['backoff']);
    await connector.settle({
      succeeded: [],
      failed: await connector.fetch(request()),
      dropped: [],
    });
    clock.advance(4999);
    expect(await connector.fetch(request())).toEqual([]);
    clock.advance(1);
    expect(await connector.fetch(request())).toHaveLength(1);
  });

  it('a lane with a record in flight delivers nothing else until settled', async () => {
    const { source, connector } = await setup();
    source.push(['g-1', 'g-2'], { lane: 'g' });
    source.push(['h-1'], { lane: 'h' });
    const first = await connector.fetch(request({ max: 1 }));
    expect(first.map((r) => r.id)).toEqual(['m-1']);
    const second = await connector.fetch(request());
    expect(second.map((r) => r.id)).toEqual(['m-3']);
    await connector.settle(ok(first));
    expect((await connector.fetch(request())).map((r) => r.id)).toEqual(['m-2']);
  });

  it('a waiting fetch wakes up on push', async () => {
    const { source, connector } = await setup();
    const pending = connector.fetch(request({ waitMs: 10_000 }));
    source.push(['wake']);
    expect((await pending).map((r) => r.id)).toEqual(['m-1']);
  });

  it('injected failures surface as connector errors, once each', async () => {
    const { source, connector } = await setup();
    source.failNext('fetch');
    await expect(connector.fetch(request())).rejects.toMatchObject({
      code: 'CONNECTOR',
      canRetry: true,
    });
    expect(await connector.fetch(request())).toEqual([]);
  });

  it('stale settles are counted and ignored; stop releases what the connector holds', async () => {
    const { clock, source, connector } = await setup();
    source.push(['s-1', 's-2']);
    const [one, two] = await connector.fetch(request());
    if (!one || !two) throw new Error('no records');
    clock.advance(1000);
    const other = new MemoryConnector({ source });
    await other.start();
    const redelivered = await other.fetch(request({ max: 1 }));
    await connector.settle(ok([one]));
    expect(source.counters.stale).toBe(1);
    expect(source.has(one.id)).toBe(true);
    await other.stop();
    expect(source.counters.released).toBe(1);
    expect(redelivered.map((r) => r.id)).toEqual([one.id]);
    expect(connector.calls.settle).toBe(1);
  });
});
