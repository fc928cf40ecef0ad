import { afterEach, describe, expect, it } from 'vitest';
import { createRunnerHarness, type RunnerHarness } from './fakes/runner-harness.ts';
import { eventually } from '../support/eventually.ts';

let h: RunnerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const keepOnly = {
  filter: (r: { event: Record<string, unknown> }) => String(r.event.body).startsWith('keep'),
};

describe('MappingRunner: filters apply before the batcher and the 6 MB cap', () => {
  it('settles an oversized record the filter drops as succeeded, not as MaximumPayloadSizeExceeded', async () => {
    h = createRunnerHarness(async () => null, { runner: keepOnly });
    const [big] = h.source.push([`drop${'x'.repeat(6_400_000)}`]);
    const kept = h.source.push(['keep1', 'keep2']);
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'queue drained');
    expect(h.source.deadLetters.map((d) => `${d.id}: ${d.reason}`)).toEqual([]);
    expect(h.source.counters.deleted).toBe(3);
    expect(h.seenIds().sort()).toEqual([...kept].sort());
    expect(h.seenIds()).not.toContain(big);
  });

  it('still drops an oversized record that matches the filter (MaximumPayloadSizeExceeded)', async () => {
    h = createRunnerHarness(async () => null, { runner: keepOnly });
    const [big] = h.source.push([`keep${'x'.repeat(6_400_000)}`]);
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'queue drained');
    expect(h.source.deadLetters.map((d) => [d.id, d.reason])).toEqual([
      [big, 'MaximumPayloadSizeExceeded'],
    ]);
  });

  it('forms batches of BatchSize matching records when filtered-out records are interleaved', async () => {
    h = createRunnerHarness(async () => null, {
      // A long window: only BatchSize (5 matching records) releases a batch.
      settings: { batchSize: 5, maximumBatchingWindowMs: 60_000 },
      runner: { ...keepOnly, scaling: { initial: 1, minimum: 1, maximum: 1 } },
    });
    const inputs = Array.from({ length: 10 }, (_, i) => [`keep${i}`, `drop${i}`]).flat();
    h.source.push(inputs);
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'queue drained');
    expect(h.batches.map((b) => b.map((r) => r.body))).toEqual([
      ['keep0', 'keep1', 'keep2', 'keep3', 'keep4'],
      ['keep5', 'keep6', 'keep7', 'keep8', 'keep9'],
    ]);
    expect(h.source.counters.deleted).toBe(20);
  });
});
