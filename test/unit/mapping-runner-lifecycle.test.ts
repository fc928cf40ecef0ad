import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createRunnerHarness, gate, type RunnerHarness } from './fakes/runner-harness.ts';
import { eventually } from '../support/eventually.ts';

let h: RunnerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const pollErrors = async (x: RunnerHarness) =>
  (await x.metrics.pollingErrors.get()).values.reduce((n, v) => n + v.value, 0);

const bodies = (n: number, prefix = 'b') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('MappingRunner: lifecycle and scaling', () => {
  it('disable stops fetching at once; enable resumes', async () => {
    h = createRunnerHarness(async () => null);
    h.source.push(bodies(10));
    await h.runner.start();
    await eventually(() => h?.source.size === 0, 'first messages processed');

    await h.runner.disable();
    expect(h.runner.status()).toMatchObject({ state: 'Disabled', pollers: 0 });
    const fetchesAtDisable = h.connector.calls.fetch;
    const later = h.source.push(bodies(5, 'later'));
    // Give pollers every chance to run if any were left: nothing may fetch.
    // Kept sleep: a window is the only evidence that nothing fetches.
    await sleep(100);
    expect(h.connector.calls.fetch).toBe(fetchesAtDisable);
    expect(h.source.size).toBe(5);

    await h.runner.enable();
    await eventually(() => h?.source.size === 0, 'messages after enable processed');
    expect(h.runner.status().state).toBe('Enabled');
    expect(h.seenIds()).toEqual(expect.arrayContaining(later));
  });

  it('tells a connector that pulls on its own to pause when disabled and resume when enabled', async () => {
    h = createRunnerHarness(async () => null);
    const calls: string[] = [];
    const connector = h.connector as { pause?: () => void; resume?: () => void };
    connector.pause = () => calls.push('pause');
    connector.resume = () => calls.push('resume');
    await h.runner.start();
    await eventually(() => h?.runner.status().state === 'Enabled', 'enabled');
    await h.runner.disable();
    await h.runner.enable();
    await eventually(() => h?.runner.status().state === 'Enabled', 'enabled again');
    await h.runner.update({ enabled: false });
    // Resumed on every successful connect (the first included), paused on both ways to disable.
    expect(calls).toEqual(['resume', 'pause', 'resume', 'pause']);
  });

  it('stop lets an in-flight batch finish and settle before it resolves', async () => {
    const hold = gate();
    let entered = 0;
    h = createRunnerHarness(async () => {
      entered += 1;
      await hold.wait;
      return null;
    });
    h.source.push(bodies(3));
    await h.runner.start();
    await eventually(() => entered === 1, 'batch in flight');
    let stopped = false;
    const stopping = h.runner.stop(5000).then((r) => ((stopped = true), r));
    // Kept sleep: a window shows stop() does NOT resolve while the batch is still held.
    await sleep(20);
    expect(stopped).toBe(false);
    hold.open();
    expect(await stopping).toEqual({ abandonedBatches: 0 });
    expect(h.source.counters.deleted).toBe(3);
    expect(h.source.size).toBe(0);
  });

  it('stop past its deadline abandons the batch and its records return to the source', async () => {
    const hold = gate();
    h = createRunnerHarness(async () => {
      await hold.wait;
      return null;
    });
    const ids = h.source.push(bodies(4));
    await h.runner.start();
    await eventually(() => h?.batches.length === 1, 'batch in flight');
    expect(await h.runner.stop(50)).toEqual({ abandonedBatches: 1 });
    // The connector released the unsettled deliveries: visible again for the next consumer.
    expect(h.source.visibleCount).toBe(4);
    expect(h.source.messages.map((m) => m.id)).toEqual(ids);
    hold.open();
  });

  it('stop returns records buffered for a batching window to the source', async () => {
    h = createRunnerHarness(async () => null, {
      settings: { batchSize: 100, maximumBatchingWindowMs: 60_000, maximumConcurrency: 2 },
      runner: { scaling: { initial: 1, minimum: 1 } },
    });
    await h.runner.start();
    await eventually(() => h?.runner.status().state === 'Enabled', 'enabled');
    h.source.push(bodies(3));
    await eventually(() => h?.source.inFlight.length === 3, 'records buffered');
    await h.runner.stop(5000);
    // A window never blocks shutdown: the gathered records were invoked or handed back, not held.
    const invoked = h.seenIds().length;
    expect(invoked + h.source.visibleCount).toBe(3);
    expect(h.source.size).toBe(3 - h.source.counters.deleted);
  });

  it('ramps pollers up while batches come back full and shrinks them when idle', async () => {
    h = createRunnerHarness(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return null;
      },
      {
        settings: { batchSize: 1, maximumConcurrency: 30 },
        runner: { scaling: { initial: 5, minimum: 2, stepUp: 5, intervalMs: 20 } },
      },
    );
    h.source.push(bodies(3000));
    await h.runner.start();
    let most = 0;
    await eventually(() => {
      most = Math.max(most, h?.runner.status().pollers ?? 0);
      return most > 5;
    }, 'scaled up past the initial 5');
    await eventually(() => h?.source.size === 0, 'queue drained', { limitMs: 30_000 });
    await eventually(() => h?.runner.status().pollers === 2, 'shrunk to the minimum when idle');
    expect(most).toBeLessThanOrEqual(30);
  });

  it('retries a source that fails to start and says why meanwhile', async () => {
    h = createRunnerHarness(async () => null, { runner: { retryMinMs: 200, retryMaxMs: 200 } });
    h.source.failNext('start', new Error('connect ECONNREFUSED 127.0.0.1:9'));
    h.source.failNext('start', new Error('connect ECONNREFUSED 127.0.0.1:9'));
    h.source.push(bodies(3));
    void h.runner.start();
    await eventually(
      () => h?.runner.status().lastProcessingResult.includes('ECONNREFUSED') === true,
      'failure reported',
    );
    expect(h.runner.status()).toMatchObject({
      state: 'Enabling',
      stateTransitionReason: 'EVENT_SOURCE_ERROR',
      sourceHealthy: false,
    });
    await eventually(() => h?.runner.status().state === 'Enabled', 'enabled after retries');
    await eventually(() => h?.source.size === 0, 'records processed');
    expect(h.runner.status()).toMatchObject({ sourceHealthy: true, lastProcessingResult: 'OK' });
  });

  it('an update while the source is still connecting keeps it connecting, then enables', async () => {
    h = createRunnerHarness(async () => null, { runner: { retryMinMs: 100, retryMaxMs: 100 } });
    h.source.failNext('start');
    void h.runner.start();
    await eventually(
      () => h?.runner.status().lastProcessingResult.includes('injected') === true,
      'failing',
    );
    await h.runner.update({ batchSize: 5 });
    h.source.push(bodies(12));
    await eventually(() => h?.source.size === 0, 'records processed after the update');
    expect(h.runner.status()).toMatchObject({ state: 'Enabled', sourceHealthy: true });
    expect(h.batches.every((b) => b.length <= 5)).toBe(true);
    // Polling started only once the source was up: no poll ran into an unstarted connector.
    expect(h.runner.status().lastProcessingResult).toBe('OK');
    expect(await pollErrors(h)).toBe(0);
  });
});
