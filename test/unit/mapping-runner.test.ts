import { pino } from 'pino';
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

const bodies = (n: number, prefix = 'b') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('MappingRunner: batching, filtering and results', () => {
  it('never invokes more than batchSize records and delivers every record once', async () => {
    h = createRunnerHarness(async () => null, { settings: { batchSize: 7 } });
    const ids = h.source.push(bodies(50));
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'queue drained');
    expect(h.batches.every((b) => b.length >= 1 && b.length <= 7)).toBe(true);
    expect(h.seenIds().sort()).toEqual([...ids].sort());
  });

  it('gathers records arriving within the batching window into one batch', async () => {
    let calls = 0;
    h = createRunnerHarness(async () => (calls += 1), {
      settings: { batchSize: 100, maximumBatchingWindowMs: 1000, maximumConcurrency: 2 },
      // One poller, so the first fetch's records and the later ones meet in the same window.
      runner: { scaling: { initial: 1, minimum: 1 } },
    });
    await h.runner.start();
    await eventually(() => h?.runner.status().state === 'Enabled', 'enabled');
    h.source.push(bodies(3, 'early'));
    await eventually(() => h?.source.inFlight.length === 3, 'first records fetched');
    h.source.push(bodies(2, 'late'));
    await eventually(() => calls === 1, 'one invoke');
    expect(h.batches).toHaveLength(1);
    expect(h.batches[0]?.map((r) => r.body)).toEqual([
      'early0',
      'early1',
      'early2',
      'late0',
      'late1',
    ]);
  });

  it('settles filtered-out records as succeeded without showing them to the function', async () => {
    h = createRunnerHarness(async () => null, {
      runner: { filter: (r) => (r.event.body as string).startsWith('keep') },
    });
    const kept = h.source.push(bodies(12, 'keep'));
    h.source.push(bodies(8, 'drop'));
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'queue drained');
    expect(h.seenIds().sort()).toEqual([...kept].sort());
    expect(h.source.counters.deleted).toBe(20);
    expect(h.source.counters.returned).toBe(0);
  });

  it("counts Lambda's event metrics: polled, filtered out, invoked, failed, settled", async () => {
    const failOnce = new Set<string>();
    h = createRunnerHarness(
      async (records) => ({
        batchItemFailures: records
          .filter((r) => r.body === 'keep3' && !failOnce.has(r.messageId))
          .map((r) => (failOnce.add(r.messageId), { itemIdentifier: r.messageId })),
      }),
      {
        settings: { reportBatchItemFailures: true, batchSize: 5 },
        runner: { filter: (r) => (r.event.body as string).startsWith('keep') },
      },
    );
    h.source.push([...bodies(12, 'keep'), ...bodies(8, 'drop')]);
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'queue drained');
    const m = h.metrics;
    const value = async (c: { get(): Promise<{ values: { value: number; labels: object }[] }> }) =>
      (await c.get()).values.reduce((n, v) => n + v.value, 0);
    // 20 polled first, then keep3 once more after its reported failure.
    expect(await value(m.polled)).toBe(21); // PolledEventCount
    expect(await value(m.filteredOut)).toBe(8); // FilteredOutEventCount
    expect(await value(m.invoked)).toBe(13); // InvokedEventCount
    expect(await value(m.failedInvoke)).toBe(1); // FailedInvokeEventCount
    const settled = (await m.settled.get()).values;
    const of = (outcome: string) =>
      settled.filter((v) => (v.labels as { outcome?: string }).outcome === outcome)[0]?.value;
    expect(of('succeeded')).toBe(20); // DeletedEventCount (SQS) / committed / acked
    expect(of('failed')).toBe(1);
    expect(
      (await m.batchSize.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value,
    ).toBeGreaterThanOrEqual(3);
  });

  it('ReportBatchItemFailures: only the reported records return to the source', async () => {
    const failOnce = new Set<string>();
    h = createRunnerHarness(
      async (records) => ({
        batchItemFailures: records
          .filter((r) => r.body.endsWith('3') && !failOnce.has(r.messageId))
          .map((r) => (failOnce.add(r.messageId), { itemIdentifier: r.messageId })),
      }),
      { settings: { reportBatchItemFailures: true } },
    );
    const ids = h.source.push(bodies(20));
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'queue drained');
    const seen = h.seenIds();
    const twice = ids.filter((id) => seen.filter((s) => s === id).length === 2);
    expect(new Set(twice)).toEqual(failOnce);
    expect(failOnce.size).toBe(2); // b3 and b13
    expect(seen).toHaveLength(22);
    expect(h.source.counters.returned).toBe(2);
  });

  it('a function error fails the whole batch: every record comes back', async () => {
    let invokes = 0;
    h = createRunnerHarness(
      async () => {
        invokes += 1;
        if (invokes === 1) throw new Error('boom');
        return null;
      },
      { settings: { batchSize: 5, maximumConcurrency: 2 }, runner: { scaling: { initial: 1 } } },
    );
    const ids = h.source.push(bodies(5));
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'queue drained');
    expect(h.batches[0]?.map((r) => r.messageId)).toEqual(ids);
    expect(h.source.counters.returned).toBe(5);
    expect(h.seenIds().sort()).toEqual([...ids, ...ids].sort());
    expect(h.runner.status().lastProcessingResult).toBe('OK');
  });

  it('never runs more batches at once than maximumConcurrency', async () => {
    h = createRunnerHarness(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return null;
      },
      {
        settings: { batchSize: 2, maximumConcurrency: 3 },
        runner: { scaling: { intervalMs: 10, stepUp: 5 } },
      },
    );
    h.source.push(bodies(120));
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'queue drained');
    expect(h.peak).toBeLessThanOrEqual(3);
    expect(h.peak).toBeGreaterThan(1);
    expect(h.runner.status().pollers).toBeLessThanOrEqual(3);
  });
});

describe('MappingRunner: poller ramp', () => {
  it('multiplies the pollers by pollerGrowthFactor each busy step', async () => {
    const steps: { from: number; to: number }[] = [];
    // The runner logs each scaling decision at debug level: the steps, in order, whatever the timing.
    const logger = pino(
      { level: 'debug' },
      {
        write: (line: string) => {
          const entry = JSON.parse(line) as { msg: string; from: number; to: number };
          if (entry.msg === 'scaling pollers') steps.push({ from: entry.from, to: entry.to });
        },
      },
    );
    const gate = gatedHandler();
    h = createRunnerHarness(gate.handler, {
      // Lambda's invoke concurrency (no tuner): the function may run every batch gathered, so
      // pollers never wait for it at the intake and the ramp is the policy's alone.
      settings: {
        batchSize: 2,
        maximumConcurrency: 200,
        pollerGrowthFactor: 3,
        adaptiveConcurrency: false,
      },
      runner: { logger, scaling: { intervalMs: 30 } },
      reserved: 200,
    });
    h.source.push(bodies(2000));
    await h.runner.start();
    // Every poll comes back full (2,000 records waiting), so each step multiplies by 3.
    await eventually(() => steps.length >= 2, 'two scaling steps');
    expect(steps.slice(0, 2)).toEqual([
      { from: 5, to: 15 },
      { from: 15, to: 45 },
    ]);
    await drain(h, gate);
  });
});

describe('MappingRunner: pipelining', () => {
  it('one poller of an unordered mapping receives its next batch while the previous one runs', async () => {
    const gate = gatedHandler();
    h = createRunnerHarness(gate.handler, {
      settings: { batchSize: 2, maximumConcurrency: 4 },
      runner: { scaling: { initial: 1, minimum: 1, maximum: 1 } },
    });
    h.source.push(bodies(8));
    await h.runner.start();
    // Depth 2: the poller hands off batch 1, fetches batch 2 while batch 1 is held.
    await eventually(() => gate.held === 2, 'two batches held by one poller');
    expect(h.runner.status().pollers).toBe(1);
    // …and no third: a poller keeps at most two batches between hand-off and settle.
    // Kept sleep: a window is the only evidence that a third batch is NOT fetched.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(gate.held).toBe(2);
    expect(h.batches).toHaveLength(2);
    await drain(h, gate);
    expect(h.seenIds()).toHaveLength(8);
  });

  it('pipelining never takes the mapping past maximumConcurrency', async () => {
    const gate = gatedHandler();
    h = createRunnerHarness(gate.handler, {
      settings: { batchSize: 1, maximumConcurrency: 3 },
      runner: { scaling: { initial: 3, minimum: 3, maximum: 3 } },
    });
    h.source.push(bodies(10));
    await h.runner.start();
    await eventually(() => gate.held === 3, 'three batches held');
    // Kept sleep: a window is the only evidence that a fourth batch is NOT taken.
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Three pollers could hold six batches at depth 2; the mapping's ceiling keeps it at three.
    expect(gate.held).toBe(3);
    expect(h.batches).toHaveLength(3);
    await drain(h, gate);
    expect(h.peak).toBe(3);
  });

  it('a pipelineDepth of 1 turns fetch-ahead off', async () => {
    const gate = gatedHandler();
    h = createRunnerHarness(gate.handler, {
      settings: { batchSize: 2, maximumConcurrency: 4 },
      runner: { scaling: { initial: 1, minimum: 1, maximum: 1 }, pipelineDepth: 1 },
    });
    h.source.push(bodies(4));
    await h.runner.start();
    await eventually(() => gate.held === 1, 'one batch held');
    // Kept sleep: a window is the only evidence that no batch is fetched ahead.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(gate.held).toBe(1);
    expect(h.batches).toHaveLength(1);
    await drain(h, gate);
  });

  it('ordered mappings never fetch ahead of an unsettled batch', async () => {
    const gate = gatedHandler();
    h = createRunnerHarness(gate.handler, {
      settings: { batchSize: 2, maximumConcurrency: 4, ordered: true },
      runner: { scaling: { initial: 1, minimum: 1, maximum: 1 } },
    });
    // Three lanes: an unordered poller would fetch lane b while lane a's batch is held.
    for (const lane of ['a', 'b', 'c']) h.source.push(bodies(2, lane), { lane });
    await h.runner.start();
    await eventually(() => gate.held === 1, 'one batch held');
    // Kept sleep: a window is the only evidence that no other lane is fetched ahead.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(gate.held).toBe(1);
    await drain(h, gate);
    expect(h.seenIds()).toHaveLength(6);
  });
});

describe('MappingRunner: sources with one shared buffer', () => {
  /** Most fetch calls that were in progress at once while the queue drained. */
  async function peakConcurrentFetches(collectsOneAtATime: boolean): Promise<number> {
    // Every batch is held until all records are in, so invokes overlap whatever the machine's
    // speed: the concurrency slots fill with held batches.
    let letGo = () => undefined as void;
    const trickleDone = new Promise<void>((resolve) => (letGo = resolve));
    h = createRunnerHarness(
      async () => {
        await trickleDone;
        return null;
      },
      {
        // A window longer than the test: a batch is released only when full.
        settings: { batchSize: 5, maximumConcurrency: 4, maximumBatchingWindowMs: 60_000 },
        runner: { scaling: { initial: 4, minimum: 4, maximum: 4 } },
        collectsOneAtATime,
      },
    );
    const connector = h.connector;
    const fetch = connector.fetch.bind(connector);
    let fetching = 0;
    let peak = 0;
    connector.fetch = async (request) => {
      fetching += 1;
      peak = Math.max(peak, fetching);
      try {
        return await fetch(request);
      } finally {
        fetching -= 1;
      }
    };
    await h.runner.start();
    // Records trickle in one at a time, as deliveries do from a broker.
    for (let i = 0; i < 40; i++) {
      h.source.push([`t${i}`]);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    letGo();
    await eventually(() => h?.source.size === 0 && h.seenIds().length === 40, 'all 40 handled');
    expect(h.batches.every((batch) => batch.length === 5)).toBe(true);
    // Invokes overlap either way: only gathering is one at a time.
    expect(h.peak).toBeGreaterThan(1);
    return peak;
  }

  it('gathers one batch at a time when the connector asks, invoking in parallel still', async () => {
    expect(await peakConcurrentFetches(true)).toBe(1);
  });

  it('otherwise pollers gather in parallel (what the gate prevents)', async () => {
    expect(await peakConcurrentFetches(false)).toBeGreaterThan(1);
  });
});

describe('MappingRunner: a failing failure path', () => {
  it('an ordered poller whose batch handling throws backs off and keeps polling its lane', async () => {
    let policyCalls = 0;
    let invokes = 0;
    h = createRunnerHarness(
      async () => {
        invokes += 1;
        if (invokes === 1) throw new Error('first batch fails');
        return null;
      },
      {
        settings: { batchSize: 2, ordered: true, maximumConcurrency: 1 },
        source: { visibilityTimeoutMs: 200 },
        runner: {
          scaling: { initial: 1, minimum: 1, maximum: 1 },
          failurePolicy: (failed) => {
            policyCalls += 1;
            if (policyCalls === 1) throw new Error('destination unreachable');
            return { failed, dropped: [] };
          },
        },
      },
    );
    const ids = h.source.push(bodies(4, 'x'), { lane: 'a' });
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'lane drained after the failure path threw');
    expect(policyCalls).toBe(1);
    // The first batch came back (visibility) and was delivered again: nothing lost.
    expect(new Set(h.seenIds())).toEqual(new Set(ids));
  });
});

describe('MappingRunner: provisioned pollers', () => {
  /** The most pollers seen while the source still held records. */
  async function peakPollersUntilDrained(): Promise<number> {
    let peak = 0;
    while ((h?.source.size ?? 0) > 0) {
      peak = Math.max(peak, h?.runner.status().pollers ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return peak;
  }

  it("never runs more pollers than the source's lanes (Kafka partitions)", async () => {
    h = createRunnerHarness(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return null;
      },
      {
        settings: { batchSize: 1, pollers: { minimum: 4, maximum: 10 } },
        runner: { scaling: { intervalMs: 10, stepUp: 5 } },
        maxLanes: 2,
      },
    );
    h.source.push(bodies(100));
    await h.runner.start();
    const peakPollers = await peakPollersUntilDrained();
    // The minimum of 4 is capped too: two lanes can never feed more than two pollers.
    expect(peakPollers).toBe(2);
  });

  it('starts at minimumPollers, keeps them while idle, and grows no further than maximumPollers', async () => {
    h = createRunnerHarness(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return null;
      },
      {
        settings: { batchSize: 1, pollers: { minimum: 3, maximum: 4 } },
        runner: { scaling: { intervalMs: 10, stepUp: 5 } },
      },
    );
    await h.runner.start();
    await eventually(() => h?.runner.status().pollers === 3, 'three pollers at start');
    // Idle (every poll empty): the scaler shrinks towards the minimum, which is 3 here.
    // Kept sleep: ~15 scaler ticks (10 ms each) that must NOT shrink below the minimum.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(h.runner.status().pollers).toBe(3);
    // Busy: full polls make it grow, up to 4 and no further.
    h.source.push(bodies(200));
    const peakPollers = await peakPollersUntilDrained();
    expect(peakPollers).toBe(4);
  });
});
