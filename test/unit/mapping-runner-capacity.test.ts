import { Registry } from 'prom-client';
import type { FetchRequest, SourceRecord } from '../../src/connectors/types.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { MemoryConnector, MemorySource } from '../support/memory-connector/index.ts';
import { MappingRunner } from '../../src/engine/mapping-runner.ts';
import type { Reservation } from '../../src/invoker/concurrency.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { MappingMetrics } from '../../src/observability/mapping-metrics.ts';
import { createRunnerHarness, type RunnerHarness } from './fakes/runner-harness.ts';

let h: RunnerHarness | undefined;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const clean of cleanups.splice(0)) await clean();
  await h?.close();
  h = undefined;
});

/** An empty source polled for a minute at a time: pollers that are idle for the whole test. */
const IDLE_WAIT_MS = 60_000;
const fixedPollers = (n: number) => ({ initial: n, minimum: n, maximum: n });
const bodies = (n: number, prefix = 'b') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A harness whose `pollers` poll an empty source for a minute, under an engine limit. */
function idleMapping(engineLimit: number, pollers: number): RunnerHarness {
  return createRunnerHarness(async () => null, {
    engineLimit,
    settings: { idleWaitMs: IDLE_WAIT_MS },
    runner: { scaling: fixedPollers(pollers) },
  });
}

/** A second mapping of the same function on the harness's invoker, with its own source. */
function secondMapping(x: RunnerHarness) {
  const source = new MemorySource();
  const connector = new MemoryConnector({ source });
  const runner = new MappingRunner({
    settings: {
      name: 'second',
      functionName: 'f',
      enabled: true,
      batchSize: 10,
      maximumBatchingWindowMs: 0,
      reportBatchItemFailures: false,
      maximumConcurrency: undefined,
      ordered: false,
      windowMode: 'caller',
      idleWaitMs: IDLE_WAIT_MS,
    },
    connector,
    invoker: x.invoker,
    logger: silentLogger(),
    metrics: new MappingMetrics(new Registry()),
    scaling: fixedPollers(1),
  });
  cleanups.push(() => runner.stop(5000));
  return { source, connector, runner };
}

const gauge = async (x: RunnerHarness, name: 'heldRecords' | 'waitingBatches') =>
  (await x.metrics[name].get()).values.find((v) => v.labels.mapping === 'm')?.value ?? 0;

describe('MappingRunner: idle pollers hold no function concurrency', () => {
  it('a sync invoke is not throttled while as many pollers as the engine limit poll an empty source', async () => {
    const limit = 4;
    h = idleMapping(limit, limit);
    await h.runner.start();
    await eventually(() => h?.connector.calls.fetch === limit, 'every poller polling');

    const result = await h.invoker.invoke('f', { payload: Buffer.from('{"Records":[]}') });
    expect(result.ok).toBe(true);
    const reservation = h.invoker.tryReserve('f');
    reservation.release();
    // The pollers are still in their first poll.
    expect(h.connector.calls.fetch).toBe(limit);
  });

  it("another mapping's batch is invoked while the first mapping's pollers poll", async () => {
    const limit = 4;
    h = idleMapping(limit, limit);
    await h.runner.start();
    await eventually(() => h?.connector.calls.fetch === limit, 'every poller of the first polling');
    const second = secondMapping(h);
    await second.runner.start();
    second.source.push(['for-the-second']);
    await eventually(
      () => h?.seenIds().length === 1 && second.source.size === 0,
      "the second mapping's batch invoked and settled",
    );
    expect(h.batches.flat().map((r) => r.body)).toEqual(['for-the-second']);
    expect(h.connector.calls.fetch).toBe(limit);
  });

  it('a gathered batch waiting for function concurrency counts as waiting, then runs once', async () => {
    h = idleMapping(1, 2);
    await h.runner.start();
    await eventually(() => h?.connector.calls.fetch === 2, 'both pollers polling');
    // The engine's only unit goes to a sync caller while both pollers are in their poll.
    const held: Reservation = h.invoker.tryReserve('f');
    h.source.push(bodies(20));
    await eventually(() => h?.source.inFlight.length === 20, 'both batches gathered');
    await eventually(
      async () => (await gauge(h as RunnerHarness, 'waitingBatches')) === 2,
      'waiting',
    );
    expect(h.batches).toHaveLength(0);
    expect(await gauge(h, 'heldRecords')).toBe(20);

    held.release();
    await eventually(() => h?.source.size === 0, 'both batches invoked and settled');
    expect(
      h.batches
        .flat()
        .map((r) => r.body)
        .sort(),
    ).toEqual(bodies(20).sort());
    expect(await gauge(h, 'waitingBatches')).toBe(0);
    // Every unit is back (a double release would have thrown; a lost one would show here).
    await eventually(() => h?.invoker.concurrency.snapshot().inUse === 0, 'all units released');
  });

  it('stop hands back at once a batch that waits for function concurrency', async () => {
    h = idleMapping(1, 1);
    await h.runner.start();
    await eventually(() => h?.connector.calls.fetch === 1, 'polling');
    const held = h.invoker.tryReserve('f');
    cleanups.push(async () => held.release());
    h.source.push(bodies(5));
    await eventually(
      async () => (await gauge(h as RunnerHarness, 'waitingBatches')) === 1,
      'waiting',
    );

    // The unit is still taken: stop must not wait for it, and the records go back unseen.
    const { abandonedBatches } = await h.runner.stop(5000, 'Disabled', { keepConnector: true });
    expect(abandonedBatches).toBe(0);
    expect(h.batches).toHaveLength(0);
    expect(h.source.counters.returned).toBe(5);
    expect(h.source.visibleCount).toBe(5);
    expect(await gauge(h, 'heldRecords')).toBe(0);
  });

  it('a function with reserved concurrency 0 is throttled without polling', async () => {
    h = createRunnerHarness(async () => null, { reserved: 0 });
    h.source.push(bodies(3));
    await h.runner.start();
    await eventually(
      () => h?.runner.status().lastProcessingResult.startsWith('PROBLEM: throttled') === true,
      'throttled',
    );
    expect(h.connector.calls.fetch).toBe(0);
    expect(h.source.size).toBe(3);
  });

  it("holds at most (2L + P) batches when the function's ceiling, not the invoke limit, binds", async () => {
    const batchSize = 10;
    const limit = 5;
    const pollers = 10;
    h = createRunnerHarness(() => new Promise((resolve) => setTimeout(() => resolve(null), 20)), {
      settings: { batchSize },
      runner: { scaling: fixedPollers(pollers), tuner: { initial: limit, windowMs: 600_000 } },
      // Two invokes at once at most: batches wait for a unit of the function, not the gate.
      reserved: 2,
    });
    h.source.push(bodies(5000));
    let maxHeld = 0;
    const connector = h.connector;
    const fetch = connector.fetch.bind(connector);
    connector.fetch = async (request: FetchRequest): Promise<SourceRecord[]> => {
      const records = await fetch(request);
      maxHeld = Math.max(maxHeld, connector.source.inFlight.length);
      return records;
    };
    await h.runner.start();
    await eventually(() => (h?.batches.length ?? 0) >= 40, '40 batches invoked', {
      limitMs: 30_000,
    });
    expect(h.peak).toBeLessThanOrEqual(2);
    expect(maxHeld).toBeLessThanOrEqual((2 * limit + pollers) * batchSize);
  });
});
