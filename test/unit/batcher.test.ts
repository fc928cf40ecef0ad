import { describe, expect, it } from 'vitest';
import {
  type BatcherOptions,
  Batcher,
  MAX_BATCH_PAYLOAD_BYTES,
} from '../../src/batching/batcher.ts';
import { isSluiceError } from '../../src/errors.ts';

/** A test record: an id and its encoded size in bytes. */
interface Rec {
  id: string;
  bytes: number;
}

const rec = (id: string, bytes = 10): Rec => ({ id, bytes });
const recs = (prefix: string, n: number, bytes = 10): Rec[] =>
  Array.from({ length: n }, (_, i) => rec(`${prefix}${i}`, bytes));
const ids = (records: Rec[]): string[] => records.map((r) => r.id);

function batcher(options: Partial<BatcherOptions<Rec>> = {}): Batcher<Rec> {
  return new Batcher<Rec>({
    batchSize: 3,
    maximumBatchingWindowMs: 1000,
    sizeOf: (r) => r.bytes,
    ...options,
  });
}

describe('size trigger', () => {
  it('releases BatchSize records at once, the rest on their window', () => {
    const b = batcher();
    b.add('p0', recs('r', 5), 0);
    const [first, ...others] = b.due(0);
    expect(others).toEqual([]);
    expect(first).toMatchObject({ lane: 'p0', trigger: 'size', payloadBytes: 30 });
    expect(ids(first?.records ?? [])).toEqual(['r0', 'r1', 'r2']);
    expect(b.size).toBe(2);

    // One batch in flight per lane: the remainder waits for markDone even though it is due later.
    expect(b.due(5000)).toEqual([]);
    b.markDone('p0', 10);
    expect(b.due(999)).toEqual([]);
    // Kafka/RabbitMQ: the window started when the first record of the batch arrived (t=0).
    const [second] = b.due(1000);
    expect(second).toMatchObject({ trigger: 'window', payloadBytes: 20 });
    expect(ids(second?.records ?? [])).toEqual(['r3', 'r4']);
  });

  it('releases a full batch even before the window', () => {
    const b = batcher({ batchSize: 2, maximumBatchingWindowMs: 300_000 });
    b.add('p0', [rec('a')], 0);
    expect(b.due(1)).toEqual([]);
    b.add('p0', [rec('b')], 2);
    expect(b.due(2).map((x) => x.trigger)).toEqual(['size']);
  });
});

describe('window trigger', () => {
  it('opens the window at the first record (Kafka / RabbitMQ)', () => {
    const b = batcher({ batchSize: 100, maximumBatchingWindowMs: 500 });
    b.add('p0', [rec('a')], 100);
    b.add('p0', [rec('b')], 400);
    expect(b.nextDeadline(100)).toBe(600);
    expect(b.due(599)).toEqual([]);
    const [batch] = b.due(600);
    expect(batch?.trigger).toBe('window');
    expect(ids(batch?.records ?? [])).toEqual(['a', 'b']);
  });

  it('window 0 releases as soon as records are available', () => {
    const b = batcher({ batchSize: 10, maximumBatchingWindowMs: 0 });
    expect(b.due(0)).toEqual([]);
    b.add('q', [rec('a'), rec('b')], 42);
    expect(b.nextDeadline(42)).toBe(42);
    const [batch] = b.due(42);
    expect(batch).toMatchObject({ trigger: 'window' });
    expect(ids(batch?.records ?? [])).toEqual(['a', 'b']);
  });

  it('does not make records that waited behind an in-flight batch wait a second window', () => {
    const b = batcher({ batchSize: 10, maximumBatchingWindowMs: 500 });
    b.add('p0', [rec('a')], 0);
    expect(b.due(500)).toHaveLength(1);
    b.add('p0', [rec('b')], 600);
    b.markDone('p0', 2000);
    expect(ids(b.due(2000)[0]?.records ?? [])).toEqual(['b']);
  });
});

describe('caller-driven window (SQS: the next window starts when the previous invocation completes)', () => {
  it('opens the next window at markDone, not at the records’ arrival', () => {
    const caller = batcher({ batchSize: 10, windowMode: 'caller' });
    const first = batcher({ batchSize: 10 });
    for (const b of [caller, first]) {
      b.add('q', [rec('a')], 0);
      expect(b.due(1000)).toHaveLength(1);
      b.add('q', [rec('b')], 1200); // arrives while the invocation runs
      b.markDone('q', 1500);
    }
    expect(caller.nextDeadline(1500)).toBe(2500);
    expect(caller.due(2499)).toEqual([]);
    expect(caller.due(2500)).toHaveLength(1);
    // The same sequence with first-record windows releases at 1200 + 1000.
    expect(first.nextDeadline(1500)).toBe(2200);
  });

  it('opens a window at the first add when no invocation ran yet', () => {
    const b = batcher({ batchSize: 10, windowMode: 'caller' });
    b.add('q', [rec('a')], 300);
    expect(b.nextDeadline(300)).toBe(1300);
  });

  it('voids a window that expired while the lane was empty', () => {
    const b = batcher({ batchSize: 10, windowMode: 'caller' });
    b.add('q', [rec('a')], 0);
    b.due(1000);
    b.markDone('q', 3000); // window 3000–4000 passes with nothing to send
    b.add('q', [rec('b')], 5000);
    expect(b.due(5000)).toEqual([]);
    expect(b.nextDeadline(5000)).toBe(6000);
  });

  it('keeps a window opened by markDone for records that arrive inside it', () => {
    const b = batcher({ batchSize: 10, windowMode: 'caller' });
    b.add('q', [rec('a')], 0);
    b.due(1000);
    b.markDone('q', 3000);
    b.add('q', [rec('b')], 3600);
    expect(b.nextDeadline(3600)).toBe(4000);
  });

  it('lets the caller set the window start explicitly', () => {
    const b = batcher({ batchSize: 10, windowMode: 'caller' });
    b.startWindow('q', 50);
    b.add('q', [rec('a')], 700);
    expect(b.nextDeadline(700)).toBe(1050);
  });
});

describe('byte trigger (6 MB counting the envelope)', () => {
  it('defaults to 6,291,456 bytes', () => {
    expect(MAX_BATCH_PAYLOAD_BYTES).toBe(6_291_456);
    const b = batcher({ batchSize: 10_000, maximumBatchingWindowMs: 300_000, envelopeBytes: 56 });
    const each = 1_048_576; // 1 MiB records: 5 fit with the envelope, the 6th does not
    b.add('p0', recs('r', 6, each), 0);
    const [batch] = b.due(0);
    expect(batch).toMatchObject({ trigger: 'bytes', payloadBytes: 56 + 5 * each });
    expect(batch?.records).toHaveLength(5);
  });

  it('releases the records that fit when the next would overflow', () => {
    const b = batcher({ batchSize: 10, maxPayloadBytes: 100, envelopeBytes: 10 });
    b.add('p0', [rec('a', 40), rec('b', 40), rec('c', 30)], 0);
    const [batch] = b.due(0);
    expect(batch).toMatchObject({ trigger: 'bytes', payloadBytes: 90 });
    expect(ids(batch?.records ?? [])).toEqual(['a', 'b']);
    expect(b.bufferedBytes).toBe(30);
  });

  it('releases a payload that is exactly full', () => {
    const b = batcher({ batchSize: 10, maxPayloadBytes: 100, envelopeBytes: 10 });
    b.add('p0', [rec('a', 45), rec('b', 45)], 0);
    expect(b.due(0)[0]).toMatchObject({ trigger: 'bytes', payloadBytes: 100 });
  });

  it('returns a record that alone exceeds the limit separately, in lane order', () => {
    const b = batcher({ batchSize: 10, maxPayloadBytes: 100, envelopeBytes: 10 });
    b.add('p0', [rec('a', 20), rec('huge', 200), rec('c', 20)], 0);

    const [before] = b.due(0);
    expect(before).toMatchObject({ trigger: 'bytes' });
    expect(ids(before?.records ?? [])).toEqual(['a']);
    b.markDone('p0', 1);

    const [oversized] = b.due(1);
    expect(oversized).toMatchObject({ trigger: 'oversized', payloadBytes: 210 });
    expect(ids(oversized?.records ?? [])).toEqual(['huge']);
    b.markDone('p0', 2);

    expect(b.due(2)).toEqual([]);
    expect(ids(b.due(1000)[0]?.records ?? [])).toEqual(['c']);
    expect(b.size).toBe(0);
  });

  it('counts the envelope: a record that fits alone only without it is oversized', () => {
    const b = batcher({ batchSize: 10, maxPayloadBytes: 100, envelopeBytes: 10 });
    b.add('p0', [rec('x', 95)], 0);
    expect(b.due(0)[0]).toMatchObject({ trigger: 'oversized', payloadBytes: 105 });
  });
});

describe('lanes', () => {
  it('are independent, with one batch in flight per lane', () => {
    const b = batcher({ batchSize: 2 });
    b.add('p0', recs('a', 4), 0);
    b.add('p1', recs('b', 1), 0);
    const first = b.due(0);
    expect(first.map((x) => [x.lane, x.trigger])).toEqual([['p0', 'size']]);
    expect(b.isInFlight('p0')).toBe(true);
    expect(b.isInFlight('p1')).toBe(false);

    // p1's window expires while p0 is still busy: p1 is not held back by p0.
    const second = b.due(1000);
    expect(second.map((x) => x.lane)).toEqual(['p1']);
    expect(b.due(1000)).toEqual([]);

    b.markDone('p0', 1001);
    expect(ids(b.due(1001)[0]?.records ?? [])).toEqual(['a2', 'a3']);
  });

  it('keeps each SQS FIFO message group in order and blocks only the failing group', () => {
    const b = batcher({ batchSize: 10, maximumBatchingWindowMs: 0 });
    const arrivals: [string, string][] = [
      ['g1', 'g1-1'],
      ['g2', 'g2-1'],
      ['g1', 'g1-2'],
      ['g2', 'g2-2'],
    ];
    for (const [group, id] of arrivals) b.add(group, [rec(id)], 0);
    const batches = b.due(0);
    expect(batches.map((x) => [x.lane, ids(x.records)])).toEqual([
      ['g1', ['g1-1', 'g1-2']],
      ['g2', ['g2-1', 'g2-2']],
    ]);

    // g1's invocation is still running (or being retried); g2 moves on.
    b.add('g1', [rec('g1-3')], 1);
    b.add('g2', [rec('g2-3')], 1);
    b.markDone('g2', 2);
    expect(b.due(2).map((x) => [x.lane, ids(x.records)])).toEqual([['g2', ['g2-3']]]);
    b.markDone('g1', 3);
    expect(b.due(3).map((x) => [x.lane, ids(x.records)])).toEqual([['g1', ['g1-3']]]);
  });

  it('markInFlight holds a lane busy until markDone', () => {
    const b = batcher({ maximumBatchingWindowMs: 0 });
    b.markInFlight('p0');
    b.add('p0', [rec('a')], 0);
    expect(b.due(0)).toEqual([]);
    expect(b.nextDeadline(0)).toBeUndefined();
    b.markDone('p0', 1);
    expect(b.due(1)).toHaveLength(1);
  });

  it('discardLane returns a lane’s records (e.g. a revoked partition)', () => {
    const b = batcher();
    b.add('p0', recs('a', 2), 0);
    b.add('p1', recs('b', 1), 0);
    expect(ids(b.discardLane('p0'))).toEqual(['a0', 'a1']);
    expect(b.size).toBe(1);
    expect(b.bufferedBytes).toBe(10);
    expect(b.discardLane('nope')).toEqual([]);
  });
});

describe('nextDeadline', () => {
  it('is undefined with nothing buffered, else the earliest free-lane deadline, never in the past', () => {
    const b = batcher({ batchSize: 2, maximumBatchingWindowMs: 100 });
    expect(b.nextDeadline(0)).toBeUndefined();
    b.add('p0', [rec('a')], 50);
    b.add('p1', [rec('b')], 20);
    expect(b.nextDeadline(60)).toBe(120);
    expect(b.nextDeadline(500)).toBe(500);
    b.add('p0', [rec('c')], 60);
    expect(b.nextDeadline(60)).toBe(60); // p0 is full
  });
});

describe('drain', () => {
  it('returns everything at once as legal batches, ignoring windows and in-flight lanes', () => {
    const b = batcher({ batchSize: 2, maximumBatchingWindowMs: 300_000, maxPayloadBytes: 100 });
    b.add('p0', recs('a', 3), 0);
    expect(b.due(0)).toHaveLength(1); // a0, a1 in flight
    b.add('p0', [rec('big', 150), rec('a3')], 1);
    b.add('p1', recs('b', 1), 1);
    const drained = b.drain();
    expect(drained.map((x) => [x.lane, x.trigger, ids(x.records)])).toEqual([
      ['p0', 'drain', ['a2']],
      ['p0', 'oversized', ['big']],
      ['p0', 'drain', ['a3']],
      ['p1', 'drain', ['b0']],
    ]);
    expect(b.size).toBe(0);
    expect(b.bufferedBytes).toBe(0);
    expect(b.nextDeadline(1)).toBeUndefined();
  });
});

describe('accounting and validation', () => {
  it('tracks buffered records and bytes for back-pressure', () => {
    const b = batcher({ batchSize: 2 });
    b.add('p0', [rec('a', 5), rec('b', 7), rec('c', 11)], 0);
    expect([b.size, b.bufferedBytes, b.laneSize('p0')]).toEqual([3, 23, 3]);
    b.due(0);
    expect([b.size, b.bufferedBytes, b.laneSize('p0')]).toEqual([1, 11, 1]);
  });

  it('calls sizeOf once per record', () => {
    let calls = 0;
    const b = new Batcher<Rec>({
      batchSize: 2,
      maximumBatchingWindowMs: 0,
      sizeOf: (r) => {
        calls++;
        return r.bytes;
      },
    });
    b.add('p0', recs('a', 5), 0);
    b.due(0);
    b.nextDeadline(0);
    b.drain();
    expect(calls).toBe(5);
  });

  it.each([
    [{ batchSize: 0 }, /batchSize must be an integer >= 1, got 0/],
    [{ batchSize: 1.5 }, /batchSize must be an integer/],
    [{ maximumBatchingWindowMs: -1 }, /maximumBatchingWindowMs must be a finite number >= 0/],
    [{ maxPayloadBytes: 10, envelopeBytes: 10 }, /maxPayloadBytes must be an integer >= 11/],
  ])('rejects options %j', (options, message) => {
    let caught: unknown;
    try {
      batcher(options);
    } catch (err) {
      caught = err;
    }
    expect(isSluiceError(caught, 'CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });

  it('rejects a size that is not a byte count', () => {
    const b = batcher();
    expect(() => b.add('p0', [rec('a', Number.NaN)], 0)).toThrow(RangeError);
  });
});
