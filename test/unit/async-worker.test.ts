import { afterEach, describe, expect, it } from 'vitest';
import type { AsyncConfig } from '../../src/config/types.ts';
import { FunctionDestination } from '../../src/destinations/function-destination.ts';
import {
  asyncConfig,
  createHarness,
  memoryDestination,
  metricValue,
  type HarnessOptions,
} from './fakes/async-harness.ts';
import { eventually } from '../support/eventually.ts';
import { tempStorePath } from '../support/temp.ts';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function harness(o: Omit<HarnessOptions, 'path'> & { path?: string }) {
  let path = o.path;
  if (!path) {
    const tmp = tempStorePath();
    cleanups.push(tmp.cleanup);
    path = tmp.path;
  }
  const h = createHarness({ ...o, path });
  cleanups.push(async () => {
    await h.worker.stop(1000);
    await h.store.close();
  });
  return { ...h, path };
}

const ev = (i: number, extra: Record<string, unknown> = {}) =>
  Buffer.from(JSON.stringify({ i, ...extra }));

const withDestinations = (over: Partial<AsyncConfig> = {}) =>
  asyncConfig({
    onSuccess: memoryDestination('ok'),
    onFailure: memoryDestination('bad'),
    deadLetter: memoryDestination('dlq'),
    ...over,
  });

describe('async queue and worker', () => {
  it('invokes a queued event and sends the Success record to onSuccess', async () => {
    const h = harness({
      handler: async (req) => ({ got: JSON.parse(req.payload.toString()) }),
      configs: { f: withDestinations() },
    });
    await h.worker.start();
    await h.queue.enqueue({ functionName: 'f', payload: ev(1), requestId: 'req-1' });
    await eventually(async () => (await h.queue.depth()) === 0, 'the queue empty');
    const [record] = h.destinations.records('ok');
    expect(record).toMatchObject({
      version: '1.0',
      requestContext: {
        requestId: 'req-1',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST',
        condition: 'Success',
        approximateInvokeCount: 1,
      },
      requestPayload: { i: 1 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { got: { i: 1 } },
    });
    expect(h.destinations.records('bad')).toEqual([]);
    expect(
      await metricValue(h.metrics, 'sluice_async_events_received_total', { function: 'f' }),
    ).toBe(1);
    expect(await h.metrics.render()).toMatch(
      /^sluice_async_event_age_seconds_count\{function="f"\} 1$/m,
    );
  });

  it('retries a function error maximumRetryAttempts times after the delays, then fails with the record and the dead letter', async () => {
    const starts: { requestId: string; at: number }[] = [];
    const h = harness({
      handler: async (req) => {
        starts.push({ requestId: req.requestId, at: Date.now() });
        throw new Error('always fails');
      },
      configs: { f: withDestinations({ retryDelaysMs: [100, 200] }) },
    });
    await h.worker.start();
    await h.queue.enqueue({ functionName: 'f', payload: ev(1), requestId: 'req-x' });
    await eventually(async () => (await h.queue.depth()) === 0, 'the queue empty');
    expect(starts.map((s) => s.requestId)).toEqual(['req-x', 'req-x', 'req-x']);
    expect(starts[1]!.at - starts[0]!.at).toBeGreaterThanOrEqual(95);
    expect(starts[2]!.at - starts[1]!.at).toBeGreaterThanOrEqual(195);
    const [record] = h.destinations.records('bad');
    expect(record).toMatchObject({
      requestContext: {
        requestId: 'req-x',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'Error: always fails' },
    });
    const [dead] = h.destinations.sent.get('memory:dlq') ?? [];
    expect(dead?.body).toBe('{"i":1}');
    expect(dead?.attributes).toEqual({
      RequestID: 'req-x',
      ErrorCode: '200',
      ErrorMessage: 'Error: always fails',
    });
    expect(
      await metricValue(h.metrics, 'sluice_async_events_dropped_total', {
        reason: 'RetriesExhausted',
      }),
    ).toBe(1);
  });

  it('with maximumRetryAttempts 0 the first error is final', async () => {
    let n = 0;
    const h = harness({
      handler: async () => {
        n += 1;
        throw new Error('x');
      },
      configs: { f: withDestinations({ maximumRetryAttempts: 0 }) },
    });
    await h.worker.start();
    await h.queue.enqueue({ functionName: 'f', payload: ev(1), requestId: 'r' });
    await eventually(async () => (await h.queue.depth()) === 0, 'the queue empty');
    expect(n).toBe(1);
    expect(h.destinations.records('bad')[0]).toMatchObject({
      requestContext: { approximateInvokeCount: 1 },
    });
  });

  it('sends events of a function with reserved concurrency 0 straight to failure handling', async () => {
    let n = 0;
    const h = harness({
      handler: async () => (n += 1),
      configs: { f: withDestinations() },
      limits: { engineLimit: 50, reserved: { f: 0 }, minimumUnreserved: 10 },
    });
    await h.worker.start();
    await h.queue.enqueue({ functionName: 'f', payload: ev(1), requestId: 'r0' });
    await eventually(async () => (await h.queue.depth()) === 0, 'the queue empty');
    expect(n).toBe(0);
    expect(h.destinations.records('bad')[0]).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 0 },
      responseContext: { statusCode: 429 },
    });
    expect(h.destinations.sent.get('memory:dlq')?.[0]?.attributes?.ErrorCode).toBe('429');
    expect(
      await metricValue(h.metrics, 'sluice_async_events_dropped_total', {
        reason: 'ConcurrencyZero',
      }),
    ).toBe(1);
  });

  it('fails with EventAgeExceeded when the next retry would come after the event’s age limit', async () => {
    const h = harness({
      handler: async () => {
        throw new Error('x');
      },
      configs: { f: withDestinations({ retryDelaysMs: [60_000], maximumEventAgeMs: 1000 }) },
    });
    await h.worker.start();
    await h.queue.enqueue({ functionName: 'f', payload: ev(1), requestId: 'old' });
    await eventually(async () => (await h.queue.depth()) === 0, 'the queue empty');
    expect(h.destinations.records('bad')[0]).toMatchObject({
      requestContext: { condition: 'EventAgeExceeded', approximateInvokeCount: 1 },
    });
  });

  it('keeps an event whose destination is down and delivers it later, without invoking again', async () => {
    let invokes = 0;
    const h = harness({
      handler: async () => (invokes += 1),
      configs: { f: withDestinations() },
      worker: { pollIntervalMs: 20 },
    });
    h.destinations.failing.add('memory:ok');
    await h.worker.start();
    await h.queue.enqueue({ functionName: 'f', payload: ev(1), requestId: 'kept' });
    await eventually(
      async () => (await metricValue(h.metrics, 'sluice_destination_delivery_failures_total')) >= 2,
      'two destination delivery failures counted',
    );
    expect(await h.queue.depth()).toBe(1);
    h.destinations.failing.delete('memory:ok');
    // The first backoff is 0.5–1 s.
    await eventually(async () => (await h.queue.depth()) === 0, 'the queue empty', {
      limitMs: 5000,
    });
    expect(invokes).toBe(1);
    expect(
      h.destinations
        .records('ok')
        .map((r) => (r.requestContext as { requestId: string }).requestId),
    ).toEqual(['kept']);
  });

  it('counts dead-letter delivery failures separately', async () => {
    const h = harness({
      handler: async () => {
        throw new Error('x');
      },
      configs: { f: withDestinations({ maximumRetryAttempts: 0 }) },
    });
    h.destinations.failing.add('memory:dlq');
    await h.worker.start();
    await h.queue.enqueue({ functionName: 'f', payload: ev(1), requestId: 'd' });
    await eventually(
      async () => (await metricValue(h.metrics, 'sluice_dead_letter_errors_total')) >= 2,
      'two dead-letter errors counted',
    );
    expect(h.destinations.records('bad')).toHaveLength(1);
    h.destinations.failing.clear();
    await eventually(async () => (await h.queue.depth()) === 0, 'the queue empty', {
      limitMs: 5000,
    });
    // onFailure got its record once: only what was still owed is sent again.
    expect(h.destinations.records('bad')).toHaveLength(1);
    expect(h.destinations.sent.get('memory:dlq')).toHaveLength(1);
  });

  it('never invokes more than the function’s reserved concurrency and drains everything', async () => {
    const running = { f: 0, g: 0 };
    const peak = { f: 0, g: 0 };
    const h = harness({
      handler: async (req) => {
        const { fn } = JSON.parse(req.payload.toString()) as { fn: 'f' | 'g' };
        running[fn] += 1;
        peak[fn] = Math.max(peak[fn], running[fn]);
        await new Promise((r) => setTimeout(r, 5));
        running[fn] -= 1;
        return null;
      },
      configs: { f: asyncConfig(), g: asyncConfig() },
      limits: { engineLimit: 30, reserved: { f: 3 }, minimumUnreserved: 10 },
    });
    await h.worker.start();
    for (let i = 0; i < 120; i++) {
      const fn = i % 2 ? 'f' : 'g';
      await h.queue.enqueue({ functionName: fn, payload: ev(i, { fn }), requestId: `r${i}` });
    }
    await eventually(async () => (await h.queue.depth()) === 0, 'the queue empty');
    expect(h.invoker.concurrency.snapshot().inUse).toBe(0);
    expect(await metricValue(h.metrics, 'sluice_invocations_total', { function: 'f' })).toBe(60);
    expect(peak.f).toBeLessThanOrEqual(3);
    expect(peak.g).toBeLessThanOrEqual(27);
    expect(peak.f).toBeGreaterThan(1);
  });

  it('sends a record to a function destination through the same queue', async () => {
    const seen: string[] = [];
    const h = harness({
      handler: async (req) => {
        seen.push(req.payload.toString());
        return 'done';
      },
      configs: {
        f: asyncConfig({
          onSuccess: { type: 'function', uri: 'function:target', functionName: 'target' },
        }),
        target: asyncConfig(),
      },
    });
    const dest = new FunctionDestination(h.queue, 'target');
    h.destinations.get = () => dest;
    await h.worker.start();
    await h.queue.enqueue({ functionName: 'f', payload: ev(1), requestId: 'src' });
    await eventually(
      async () => seen.length === 2 && (await h.queue.depth()) === 0,
      'both seen and the queue empty',
    );
    const record = JSON.parse(seen[1] as string) as { requestContext: { requestId: string } };
    expect(record.requestContext.requestId).toBe('src');
  });

  it('stop() is idempotent and awaitable, also before start', async () => {
    const h = harness({ handler: async () => null, configs: { f: asyncConfig() } });
    await Promise.all([h.worker.stop(), h.worker.stop()]);
    expect(h.worker.state).toBe('stopped');
    const h2 = harness({ handler: async () => null, configs: { f: asyncConfig() } });
    await h2.worker.start();
    const a = h2.worker.stop();
    expect(h2.worker.stop()).toBe(a);
    await a;
    expect(h2.worker.state).toBe('stopped');
  });
});

describe('async queue crash recovery (same SQLite file, second worker)', () => {
  it('processes every event after the first worker is abandoned mid-way; duplicates are counted', async () => {
    const TOTAL = 300;
    const completed = new Map<string, number>();
    const tmp = tempStorePath();
    cleanups.push(tmp.cleanup);
    let crashed = false;
    let done = 0;
    const first = createHarness({
      path: tmp.path,
      configs: { f: asyncConfig() },
      handler: async (req) => {
        // After 100 events the "process" dies: invokes in flight never return.
        if (crashed || done >= 100) {
          crashed = true;
          await new Promise(() => undefined);
        }
        done += 1;
        completed.set(req.requestId, (completed.get(req.requestId) ?? 0) + 1);
        return null;
      },
      worker: { leaseMs: 60_000 },
    });
    for (let i = 0; i < TOTAL; i++) {
      await first.queue.enqueue({ functionName: 'f', payload: ev(i), requestId: `c-${i}` });
    }
    await first.worker.start();
    await eventually(() => crashed, 'the crash');
    // The dead engine stops leasing; its in-flight rows stay leased to it (60 s).
    await first.worker.stop(0);
    const left = await first.store.depth();
    expect(left).toBeGreaterThan(0);

    const second = createHarness({
      path: tmp.path,
      configs: { f: asyncConfig() },
      handler: async (req) => {
        completed.set(req.requestId, (completed.get(req.requestId) ?? 0) + 1);
        return null;
      },
    });
    cleanups.push(async () => {
      await second.worker.stop();
      await second.store.close();
      await first.store.close();
    });
    await second.worker.start();
    await eventually(async () => (await second.store.depth()) === 0, 'the restored queue empty');
    const missing = Array.from({ length: TOTAL }, (_, i) => `c-${i}`).filter(
      (id) => !completed.has(id),
    );
    const duplicates = [...completed.values()].filter((n) => n > 1).length;
    expect(missing).toEqual([]);
    console.log(
      `crash recovery: ${TOTAL} events, ${left} left at the crash, ${duplicates} duplicates`,
    );
    expect(duplicates).toBe(0);
  });
});
