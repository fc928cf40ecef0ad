import { afterEach, describe, expect, it } from 'vitest';
import {
  createRunnerHarness,
  drain,
  gatedHandler,
  type BatchHandler,
  type RunnerHarness,
} from './fakes/runner-harness.ts';
import { eventually } from '../support/eventually.ts';

let h: RunnerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const bodies = (n: number) => Array.from({ length: n }, (_, i) => `b${i}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A function whose invokes slow each other down: each takes `msPerSquare` × (invokes running)²,
 * so records/s fall as concurrency rises (functions competing for the same cores, exaggerated).
 */
function contendedHandler(msPerSquare: number) {
  let running = 0;
  return async () => {
    running += 1;
    try {
      await sleep(msPerSquare * running * running);
      return null;
    } finally {
      running -= 1;
    }
  };
}

/**
 * A started runner with a backlog far larger than the test needs, 8 pollers, at most 8 invokes at
 * once, and short tuner windows; the tuner starts at `initial` (default 5).
 */
async function startBacklogged(handler: BatchHandler, initial?: number): Promise<RunnerHarness> {
  const harness = createRunnerHarness(handler, {
    settings: { batchSize: 1, maximumConcurrency: 8 },
    runner: {
      scaling: { initial: 8, minimum: 8 },
      tuner: { windowMs: 60, minBatches: 3, ...(initial === undefined ? {} : { initial }) },
    },
  });
  harness.source.push(bodies(100_000));
  await harness.runner.start();
  return harness;
}

describe('MappingRunner: throughput-tuned invoke concurrency', () => {
  it("invokes no more batches at once than the tuner's limit while others wait", async () => {
    const gate = gatedHandler();
    h = createRunnerHarness(gate.handler, {
      settings: { batchSize: 1, maximumConcurrency: 6 },
      runner: {
        scaling: { initial: 6, minimum: 6 },
        // No window closes during the test: the limit stays where it starts.
        tuner: { initial: 2, windowMs: 600_000 },
      },
    });
    h.source.push(bodies(20));
    await h.runner.start();
    await eventually(() => gate.held === 2, 'two invokes running');
    // Pollers hold more batches (up to maximumConcurrency) but only two reach the function.
    await eventually(() => h?.runner.status().inFlightBatches === 6, 'six batches in flight');
    expect(gate.held).toBe(2);
    expect(h.runner.status().invokeLimit).toBe(2);
    while ((h.source.size > 0 || gate.held > 0) && h.peak <= 2) {
      gate.releaseAll();
      await sleep(5);
    }
    expect(h.peak).toBe(2);
  });

  it('adaptiveConcurrency false invokes up to maximumConcurrency (Lambda)', async () => {
    const gate = gatedHandler();
    h = createRunnerHarness(gate.handler, {
      settings: { batchSize: 1, maximumConcurrency: 6, adaptiveConcurrency: false },
      runner: { scaling: { initial: 6, minimum: 6 }, tuner: { initial: 2, windowMs: 10 } },
    });
    h.source.push(bodies(20));
    await h.runner.start();
    await eventually(() => gate.held === 6, 'six invokes running');
    expect(h.runner.status().invokeLimit).toBe(6);
    await drain(h, gate);
  });

  it.each([
    [1, 1],
    [Number.POSITIVE_INFINITY, 4],
  ])(
    'starts at initialInvokeConcurrency %s, clamped to the maximum (%s)',
    async (initial, held) => {
      const gate = gatedHandler();
      h = createRunnerHarness(gate.handler, {
        settings: { batchSize: 1, maximumConcurrency: 4, initialInvokeConcurrency: initial },
        runner: { scaling: { initial: 4, minimum: 4 }, tuner: { windowMs: 600_000 } },
      });
      h.source.push(bodies(12));
      await h.runner.start();
      await eventually(() => h?.runner.status().inFlightBatches === 4, 'four batches in flight');
      expect(gate.held).toBe(held);
      expect(h.runner.status().invokeLimit).toBe(held);
      await drain(h, gate);
    },
  );

  it('comes down to one invoke at a time when concurrent invokes slow each other down', async () => {
    h = await startBacklogged(contendedHandler(3));
    await eventually(() => h?.runner.status().invokeLimit === 1, 'limit of one', {
      limitMs: 20_000,
    });
  });

  it('climbs to maximumConcurrency when throughput grows with it', async () => {
    h = await startBacklogged(() => sleep(15).then(() => null), 1);
    await eventually(() => h?.runner.status().invokeLimit === 8, 'limit of eight', {
      limitMs: 20_000,
    });
    expect(h.peak).toBe(8);
  });
});
