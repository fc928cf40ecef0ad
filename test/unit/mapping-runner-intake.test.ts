import { afterEach, describe, expect, it } from 'vitest';
import type { FetchRequest, SourceRecord } from '../../src/connectors/types.ts';
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

const bodies = (n: number) => Array.from({ length: n }, (_, i) => `b${i}`);

describe('MappingRunner: records are never pulled that cannot be invoked soon', () => {
  it('holds at most (invoke limit × 2 + pollers) batches while a slow function works a backlog', async () => {
    const batchSize = 10;
    const limit = 5;
    h = createRunnerHarness(() => new Promise((resolve) => setTimeout(() => resolve(null), 20)), {
      settings: { batchSize },
      runner: {
        // Scaling decisions every 10 ms: a run of dozens of intervals. The tuner's window never
        // closes, so the invoke limit stays at 5 (Lambda's SQS start).
        scaling: { intervalMs: 10 },
        tuner: { initial: limit, windowMs: 600_000 },
      },
      // The function's ceiling is far above the invoke limit: it does not bound what is held.
      reserved: 400,
    });
    h.source.push(bodies(20_000));
    // What is held peaks when a receive returns: sample the source's received-not-settled count
    // and the pollers then (an event counter, not a clock).
    let maxHeld = 0;
    let maxPollers = 0;
    const connector = h.connector;
    const fetch = connector.fetch.bind(connector);
    connector.fetch = async (request: FetchRequest): Promise<SourceRecord[]> => {
      const records = await fetch(request);
      maxHeld = Math.max(maxHeld, connector.source.inFlight.length);
      maxPollers = Math.max(maxPollers, h?.runner.status().pollers ?? 0);
      return records;
    };
    await h.runner.start();
    // 60 batches of a 20 ms function at 5 at once: about 240 ms, some 24 scaling intervals.
    await eventually(() => (h?.batches.length ?? 0) >= 60, '60 batches invoked', {
      limitMs: 30_000,
    });
    expect(h.runner.status().invokeLimit).toBe(limit);
    // Pollers stop growing once they wait for the function: at most one doubling from 5.
    expect(maxPollers).toBeLessThanOrEqual(10);
    // Running (limit) + waiting for an invoke slot (< limit + pollers) + being gathered.
    expect(maxHeld).toBeLessThanOrEqual((2 * limit + maxPollers) * batchSize);
  });

  it('shows what it holds: received-not-settled records and batches waiting for the function', async () => {
    const gate = gatedHandler();
    h = createRunnerHarness(gate.handler, {
      settings: { batchSize: 10 },
      runner: {
        scaling: { initial: 2, minimum: 2, maximum: 2 },
        tuner: { initial: 1, windowMs: 600_000 },
      },
    });
    const gauge = async (name: 'heldRecords' | 'waitingBatches') =>
      (await h?.metrics[name].get())?.values.find((v) => v.labels.mapping === 'm')?.value ?? 0;
    h.source.push(Array.from({ length: 100 }, (_, i) => `b${i}`));
    await h.runner.start();
    // One invoke runs (limit 1), one batch waits; no poller gathers a third.
    await eventually(() => gate.held === 1 && h?.source.inFlight.length === 20, 'two batches held');
    expect(await gauge('heldRecords')).toBe(20);
    expect(await gauge('waitingBatches')).toBe(1);
    await drain(h, gate);
    await eventually(() => h?.source.size === 0, 'drained');
    expect(await gauge('heldRecords')).toBe(0);
    expect(await gauge('waitingBatches')).toBe(0);
  });
});
