import { describe, expect, it } from 'vitest';
import { OffsetCommitter } from '../../connectors/kafka/kafka-committer.ts';
import type { OffsetCommit } from '../../connectors/kafka/kafka-client-adapter.ts';

const at = (partition: number, offset: number): OffsetCommit => ({
  topic: 't',
  partition,
  offset: String(offset),
  metadata: '',
});

/** A committer whose commits wait for the test to let them through (or refuse them). */
function harness(owned = new Set(['t-0', 't-1'])) {
  const sent: OffsetCommit[][] = [];
  let committed = 0;
  let refuseNext = false;
  let release: (() => void) | undefined;
  const committer = new OffsetCommitter({
    commit: async (offsets) => {
      sent.push(offsets);
      await new Promise<void>((resolve) => (release = resolve));
      if (refuseNext) {
        refuseNext = false;
        throw new Error('REBALANCE_IN_PROGRESS');
      }
    },
    canCommit: () => true,
    owns: (lane) => owned.has(lane),
    onRefused: () => undefined,
    onCommitted: (records) => (committed += records),
    intervalMs: 0,
  });
  return {
    committer,
    sent,
    committed: () => committed,
    refuseNext: () => (refuseNext = true),
    answer: () => release?.(),
  };
}

describe('kafka offset committer', () => {
  it('counts records as committed only once the broker has accepted their offsets', async () => {
    const h = harness();
    h.committer.queue('t-0', at(0, 10), 10);
    h.committer.queue('t-0', at(0, 25), 15);
    h.committer.queue('t-1', at(1, 5), 5);
    const flushed = h.committer.flush();
    await Promise.resolve();
    await Promise.resolve();
    // Sent, not answered: a crash now would redeliver all 30, so none counts as committed yet.
    expect(h.sent).toEqual([[at(0, 25), at(1, 5)]]);
    expect(h.committed()).toBe(0);
    h.answer();
    await flushed;
    expect(h.committed()).toBe(30);
  });

  it('keeps the records of a refused commit pending and counts them when a later commit lands', async () => {
    const h = harness();
    h.committer.queue('t-0', at(0, 10), 10);
    h.refuseNext();
    const refused = h.committer.flush();
    await Promise.resolve();
    await Promise.resolve();
    h.answer();
    await refused;
    expect(h.committed()).toBe(0);
    h.committer.queue('t-0', at(0, 12), 2);
    const later = h.committer.flush();
    await Promise.resolve();
    await Promise.resolve();
    h.answer();
    await later;
    expect(h.sent.at(-1)).toEqual([at(0, 12)]);
    expect(h.committed()).toBe(12);
  });

  it('never counts the records of a partition it no longer owns', async () => {
    const owned = new Set(['t-0']);
    const h = harness(owned);
    h.committer.queue('t-0', at(0, 3), 3);
    h.committer.queue('t-1', at(1, 7), 7);
    const flushed = h.committer.flush();
    await Promise.resolve();
    await Promise.resolve();
    h.answer();
    await flushed;
    expect(h.sent).toEqual([[at(0, 3)]]);
    expect(h.committed()).toBe(3);
  });
});
