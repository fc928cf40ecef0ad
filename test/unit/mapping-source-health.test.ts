import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRunnerHarness, type RunnerHarness } from './fakes/runner-harness.ts';

let h: RunnerHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const gauge = async (x: RunnerHarness, which: 'sourceUp' | 'lastPollAge') =>
  (await x.metrics[which].get()).values.find((v) => v.labels.mapping === 'm')?.value;

/** Waits for a gauge to read `want` (the monitor refreshes it every second). */
async function gaugeReads(
  x: RunnerHarness,
  which: 'sourceUp' | 'lastPollAge',
  want: (v: number | undefined) => boolean,
): Promise<void> {
  const started = Date.now();
  while (!want(await gauge(x, which))) {
    if (Date.now() - started > 10_000) throw new Error(`${which} is ${await gauge(x, which)}`);
    await sleep(20);
  }
}

const HUNG = {
  ok: false,
  reason: 'EVENT_SOURCE_UNREACHABLE',
  detail: 'ReceiveMessage did not answer within 25 s',
};

describe('MappingRunner: source health in status and metrics', () => {
  it('a source that stops answering shows at once in the status, and in the gauges at their next refresh', async () => {
    h = createRunnerHarness(async () => null, { runner: { sourceHealthIntervalMs: 50 } });
    await h.runner.start();
    await eventually(() => h?.runner.status().state === 'Enabled', 'enabled');
    await gaugeReads(h, 'sourceUp', (v) => v === 1);
    await gaugeReads(h, 'lastPollAge', (v) => v !== undefined && v >= 0);

    h.connector.setHealth(HUNG);
    // Lambda keeps the mapping Enabled and says what is wrong in LastProcessingResult.
    expect(h.runner.status()).toMatchObject({
      state: 'Enabled',
      sourceHealthy: false,
      stateTransitionReason: 'EVENT_SOURCE_UNREACHABLE',
      lastProcessingResult: 'PROBLEM: ReceiveMessage did not answer within 25 s',
    });
    await gaugeReads(h, 'sourceUp', (v) => v === 0);

    h.connector.setHealth({ ok: true });
    expect(h.runner.status()).toMatchObject({
      sourceHealthy: true,
      stateTransitionReason: 'USER_INITIATED',
    });
    await gaugeReads(h, 'sourceUp', (v) => v === 1);
  });

  it('a disabled mapping shows no source gauges and no source problem', async () => {
    h = createRunnerHarness(async () => null, { runner: { sourceHealthIntervalMs: 50 } });
    await h.runner.start();
    await gaugeReads(h, 'sourceUp', (v) => v === 1);
    await h.runner.disable();
    h.connector.setHealth(HUNG);
    expect(h.runner.status().lastProcessingResult).not.toMatch(/PROBLEM/);
    await gaugeReads(h, 'sourceUp', (v) => v === undefined);
  });
});
