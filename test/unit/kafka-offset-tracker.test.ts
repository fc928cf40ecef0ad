import { describe, expect, it } from 'vitest';
import { toSourceRecord } from '../../connectors/kafka/kafka-event.ts';
import { PartitionLog } from '../../connectors/kafka/offset-tracker.ts';

const rec = (offset: number, epoch = 1) =>
  toSourceRecord(
    't',
    0,
    { offset: String(offset), timestamp: '0', key: null, value: Buffer.from(`v${offset}`) },
    epoch,
  );
const offsets = (records: { id: string }[]) => records.map((r) => Number(r.id.split('@')[1]));

function logWith(n: number): PartitionLog {
  const log = new PartitionLog('t', 0, 't-0', 1);
  log.accept(Array.from({ length: n }, (_, i) => rec(i)));
  return log;
}

describe('kafka offset tracker (PartitionLog)', () => {
  it('hands out one batch at a time and commits only the contiguous settled prefix', () => {
    const log = logWith(5);
    const batch = log.take(3, 0);
    expect(offsets(batch)).toEqual([0, 1, 2]);
    expect(log.take(3, 0)).toEqual([]); // outstanding: the partition waits
    const [r0, r1, r2] = batch;
    log.settle(r0!, 'done');
    log.settle(r2!, 'done');
    expect(log.advance()).toMatchObject({ commitTo: 1n, committedRecords: 1 });
    log.settle(r1!, 'done');
    expect(log.advance()).toMatchObject({ commitTo: 3n, committedRecords: 2 });
    expect(offsets(log.take(10, 0))).toEqual([3, 4]);
  });

  it('a failure commits up to the first failed offset and redelivers from it, in order', () => {
    const log = logWith(4);
    const [r0, r1, r2, r3] = log.take(4, 0);
    log.settle(r0!, 'done');
    log.settle(r1!, 'failed');
    log.settle(r2!, 'done'); // after a failure: redelivered too (order first)
    expect(log.advance()).toMatchObject({ commitTo: 1n, requeued: 0 }); // r3 still pending
    log.settle(r3!, 'failed');
    expect(log.advance()).toMatchObject({ commitTo: undefined, requeued: 3 });
    expect(offsets(log.take(10, 0))).toEqual([1, 2, 3]);
  });

  it('ignores stale settles (another epoch, unknown or already settled records)', () => {
    const log = logWith(1);
    const [r0] = log.take(1, 0);
    expect(log.settle(rec(0, 99), 'done')).toBe(false);
    expect(log.settle(r0!, 'done')).toBe(true);
    expect(log.settle(r0!, 'failed')).toBe(false);
  });

  it('accepts only offsets above what it holds (a re-fetch after a rejoin is not duplicated)', () => {
    const log = logWith(3);
    expect(log.accept([rec(1), rec(2), rec(3)])).toBe(1);
    expect(log.buffered).toBe(4);
  });

  it('syncs with a committed offset another member moved ahead', () => {
    const log = logWith(5);
    log.syncCommitted(3n);
    expect(offsets(log.take(10, 0))).toEqual([3, 4]);
    expect(log.accept([rec(2)])).toBe(0);
  });

  it('bisects: the next batch holds at most the cap, then the rest of the suspect range', () => {
    const log = logWith(10);
    log.bisect = { cap: 3, suspectEnd: 5n };
    const first = log.take(10, 0);
    expect(offsets(first)).toEqual([0, 1, 2]);
    for (const r of first) log.settle(r, 'done');
    log.advance();
    expect(offsets(log.take(10, 0))).toEqual([3, 4, 5]);
  });

  it('holds a failed partition back until its retry time', () => {
    const log = logWith(1);
    log.notBeforeMs = 1000;
    expect(log.take(1, 999)).toEqual([]);
    expect(log.take(1, 1000)).toHaveLength(1);
  });

  it('reports lag from the high watermark to the committed offset', () => {
    const log = logWith(2);
    log.highWatermark = 10n;
    log.syncCommitted(4n);
    expect(log.lag()).toBe(6);
  });
});
