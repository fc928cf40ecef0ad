import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRunnerHarness,
  drain,
  gatedHandler,
  type RunnerHarness,
} from './fakes/runner-harness.ts';
import { eventually } from '../support/eventually.ts';

let h: RunnerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/**
 * The source's visibility timeout in these tests: short, so records would come back during a
 * window or a wait at the invoke gate unless the mapping keeps them reserved. The heartbeat runs
 * every third of it (the memory connector's default, like the SQS connector's).
 */
const VISIBILITY_MS = 600;

const bodies = (n: number) => Array.from({ length: n }, (_, i) => `b${i}`);

/** Ids delivered more than once (a redelivery the heartbeat should have prevented). */
const repeated = (ids: string[]) => ids.filter((id, i) => ids.indexOf(id) !== i);

describe('MappingRunner: received records stay reserved at the source until they are settled', () => {
  it('records gathered in a batching window longer than the visibility timeout are never received again', async () => {
    h = createRunnerHarness(async () => null, {
      // Several visibility timeouts: without a heartbeat they expire while the window is open.
      settings: { batchSize: 100, maximumBatchingWindowMs: 4 * VISIBILITY_MS },
      source: { visibilityTimeoutMs: VISIBILITY_MS },
      runner: { scaling: { initial: 1, minimum: 1, maximum: 1 } },
    });
    h.source.push(bodies(5));
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'all deleted', { limitMs: 20_000 });
    expect(repeated(h.seenIds())).toEqual([]);
    expect(h.seenIds()).toHaveLength(5);
    // Each message was received once: none came back to the source while the window was open.
    expect(h.source.counters.received).toBe(5);
    expect(h.source.counters.heartbeats).toBeGreaterThan(0);
  });

  it('records of a batch waiting at the invoke gate stay reserved while the function is busy', async () => {
    const gate = gatedHandler();
    h = createRunnerHarness(gate.handler, {
      settings: { batchSize: 5 },
      source: { visibilityTimeoutMs: VISIBILITY_MS },
      runner: {
        scaling: { initial: 2, minimum: 2, maximum: 2 },
        // One invoke at a time: the second batch waits at the invoke gate.
        tuner: { initial: 1, windowMs: 600_000 },
      },
    });
    h.source.push(bodies(10));
    await h.runner.start();
    await eventually(
      () => gate.held === 1 && h?.source.inFlight.length === 10,
      'one batch invoked, one waiting at the gate',
    );
    // Kept sleep: the claim is that nothing expires at the source over several visibility
    // timeouts (the source's clock), which only a span of that clock can show.
    await sleep(3 * VISIBILITY_MS);
    expect(h.source.inFlight).toHaveLength(10);
    expect(h.source.counters.received).toBe(10);
    await drain(h, gate);
    expect(repeated(h.seenIds())).toEqual([]);
    expect(h.seenIds()).toHaveLength(10);
    expect(h.source.counters.received).toBe(10);
    // Settled records are never extended (a stale heartbeat would name a finished delivery).
    expect(h.source.counters.stale).toBe(0);
  });

  it('stops extending once everything is settled and the runner stops', async () => {
    h = createRunnerHarness(async () => null, {
      settings: { batchSize: 10 },
      source: { visibilityTimeoutMs: VISIBILITY_MS },
    });
    h.source.push(bodies(3));
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'all deleted');
    await h.runner.stop(5000);
    const calls = h.connector.calls.heartbeat;
    await sleep(VISIBILITY_MS);
    expect(h.connector.calls.heartbeat).toBe(calls);
  });
});
