import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfigFromString } from '../../src/app/config.ts';
import type { Engine } from '../../src/app/sluice-app.ts';
import type { InvokeRequest } from '../../src/invoker/types.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import type { AsyncInvokeQueue as TriggerQueue } from '../../src/lambda/async-invocation.ts';
import { S3TriggerIntake } from '../../src/triggers/s3-trigger-intake.ts';
import { parseS3Notification, type S3Record } from '../../src/triggers/s3-notification.ts';
import { TriggerMetrics } from '../../src/triggers/trigger-metrics.ts';
import { Registry } from 'prom-client';
import { metricValue } from './fakes/async-harness.ts';
import { FakeEnvironment } from './fakes/fake-environment.ts';
import { startTestEngine } from '../support/start-test-engine.ts';

const TOKEN = 'secret-token';

/** A MinIO-style one-record push. */
function push(key: string, sequencer: string, eventName = 's3:ObjectCreated:Put', size = 7) {
  return {
    EventName: eventName,
    Key: `b/${key}`,
    Records: [
      {
        eventVersion: '2.0',
        eventSource: 'minio:s3',
        awsRegion: '',
        eventTime: '2026-02-20T10:00:00.000Z',
        eventName,
        s3: { bucket: { name: 'b' }, object: { key, size, sequencer } },
      },
    ],
  };
}

interface Harness {
  engine: Engine;
  url: string;
  invoked: InvokeRequest[];
  post(body: unknown, token?: string | null): Promise<Response>;
  release(): void;
}

let running: Engine | undefined;
afterEach(async () => {
  await running?.stop(2000);
  running = undefined;
});

/** A real engine (API, SQLite queue, worker) with a fake function that records its events. */
async function harness(options: { maxQueueDepth?: number; hold?: boolean } = {}): Promise<Harness> {
  const config = loadConfigFromString(
    `
api: { port: 0 }
storage: { path: ':memory:' }
functions:
  thumb: { runtime: nodejs22.x, handler: index.handler, code: ./ }
triggers:
  - name: uploads
    type: s3
    function: thumb
    authToken: ${TOKEN}
    events: ['s3:ObjectCreated:*']
    filter: { prefix: images/, suffix: .jpg }
    ${options.maxQueueDepth === undefined ? '' : `maxQueueDepth: ${options.maxQueueDepth}`}
`,
    { dirExists: () => true },
  );
  const invoked: InvokeRequest[] = [];
  let release = () => undefined as void;
  const gate = options.hold ? new Promise<void>((r) => (release = r)) : Promise.resolve();
  const engine = await startTestEngine(config, {
    createEnvironment: (o) =>
      new FakeEnvironment(o, async (req) => {
        invoked.push(req);
        await gate;
        return null;
      }),
  });
  running = engine;
  const url = `http://127.0.0.1:${engine.api!.address().port}/triggers/s3/uploads`;
  return {
    engine,
    url,
    invoked,
    release: () => release(),
    post: (body, token = TOKEN) =>
      fetch(url, {
        method: 'POST',
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
  };
}

const keysOf = (invoked: InvokeRequest[]) =>
  invoked.map((r) => JSON.parse(r.payload.toString()).Records[0].s3.object.key as string).sort();

describe('S3 trigger route', () => {
  it('queues each matching record as an async invoke with the AWS-shaped event; filters the rest', async () => {
    const h = await harness();
    const res = await h.post(push('images%2Fred+flower.jpg', 'A1'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ queued: 1, duplicates: 0, filtered: 0 });
    for (const [key, seq] of [
      ['docs%2Fa.jpg', 'A2'],
      ['images%2Fa.png', 'A3'],
    ]) {
      expect(await (await h.post(push(key!, seq!))).json()).toEqual({
        queued: 0,
        duplicates: 0,
        filtered: 1,
      });
    }
    const removed = await h.post(push('images%2Fx.jpg', 'A4', 's3:ObjectRemoved:Delete'));
    expect(await removed.json()).toMatchObject({ filtered: 1 });
    await vi.waitFor(() => expect(h.invoked).toHaveLength(1));
    const event = JSON.parse(h.invoked[0]!.payload.toString());
    expect(event.Records[0]).toMatchObject({
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      awsRegion: 'us-east-1',
      s3: { bucket: { name: 'b' }, object: { key: 'images/red+flower.jpg', size: 7 } },
    });
    const m = h.engine.metrics;
    expect(await metricValue(m, 'sluice_trigger_received_records_total')).toBe(4);
    expect(await metricValue(m, 'sluice_trigger_matched_records_total')).toBe(1);
    expect(await metricValue(m, 'sluice_trigger_filtered_records_total')).toBe(3);
  });

  it('invokes a record pushed again (after its invoke finished, or concurrently) once', async () => {
    const h = await harness();
    const body = push('images%2Fonce.jpg', 'S1');
    expect((await h.post(body)).status).toBe(200);
    await vi.waitFor(async () => expect(await h.engine.asyncRuntime!.queue.depth()).toBe(0));
    expect(h.invoked).toHaveLength(1);
    const again = await Promise.all([h.post(body), h.post(body), h.post(body)]);
    for (const r of again) expect(await r.json()).toMatchObject({ queued: 0, duplicates: 1 });
    const other = await Promise.all([0, 1, 2].map(() => h.post(push('images%2Fb.jpg', 'S2'))));
    const counts = (await Promise.all(other.map((r) => r.json()))) as { queued: number }[];
    expect(counts.filter((c) => c.queued === 1)).toHaveLength(1);
    await vi.waitFor(() => expect(h.invoked).toHaveLength(2));
    await vi.waitFor(async () => expect(await h.engine.asyncRuntime!.queue.depth()).toBe(0));
    expect(keysOf(h.invoked)).toEqual(['images/b.jpg', 'images/once.jpg']);
    expect(await metricValue(h.engine.metrics, 'sluice_trigger_duplicate_records_total')).toBe(5);
  });

  it('answers 401 without detail for a missing or wrong token, compared in constant time', async () => {
    const h = await harness();
    for (const token of [null, 'wrong', '', `${TOKEN}x`]) {
      const res = await h.post(push('images%2Fa.jpg', 'T1'), token);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ Type: 'User', message: 'Unauthorized' });
    }
    const bad = await fetch(h.url, {
      method: 'POST',
      headers: { authorization: `Basic ${TOKEN}` },
      body: '{}',
    });
    expect(bad.status).toBe(401);
    expect((await fetch(h.url, { method: 'HEAD' })).status).toBe(401);
    expect(
      (await fetch(h.url, { method: 'HEAD', headers: { authorization: `Bearer ${TOKEN}` } }))
        .status,
    ).toBe(200);
    expect(h.invoked).toHaveLength(0);
    expect(
      await metricValue(h.engine.metrics, 'sluice_trigger_rejected_requests_total', {
        reason: 'unauthorized',
      }),
    ).toBe(5);
  });

  it('answers 400 naming the problem, 413 over 1 MB, 200 for s3:TestEvent (not invoked)', async () => {
    const h = await harness();
    const notJson = await h.post('{"Records": [');
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { message: string }).message).toMatch(/^Body is not JSON/);
    const noKey = push('images%2Fa.jpg', 'B1');
    delete (noKey.Records[0]!.s3.object as { key?: string }).key;
    const missing = await h.post(noKey);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { message: string }).message).toBe(
      'Records[0].s3.object.key must be a non-empty string, got nothing',
    );
    const big = await h.post({ Records: [], pad: 'x'.repeat(1024 * 1024) });
    expect(big.status).toBe(413);
    const test = await h.post({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'b' });
    expect(test.status).toBe(200);
    expect(await test.json()).toEqual({ testEvent: true });
    expect(h.invoked).toHaveLength(0);
  });

  it('answers 429 while the async queue is at maxQueueDepth; the retried push is then accepted', async () => {
    const h = await harness({ maxQueueDepth: 1, hold: true });
    expect((await h.post(push('images%2F1.jpg', 'Q1'))).status).toBe(200);
    await vi.waitFor(() => expect(h.invoked).toHaveLength(1));
    const refused = await h.post(push('images%2F2.jpg', 'Q2'));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    // Records that match nothing need no queue room.
    expect((await h.post(push('docs%2F3.jpg', 'Q3'))).status).toBe(200);
    h.release();
    await vi.waitFor(async () => expect(await h.engine.asyncRuntime!.queue.depth()).toBe(0));
    expect((await h.post(push('images%2F2.jpg', 'Q2'))).status).toBe(200);
    await vi.waitFor(() => expect(keysOf(h.invoked)).toEqual(['images/1.jpg', 'images/2.jpg']));
  });
});

describe('S3TriggerIntake deduplication window', () => {
  it('forgets a record after the window (purged), so a much later push is invoked again', async () => {
    const store = new SqliteStore({ path: ':memory:' });
    let now = 1_000_000;
    const queued: string[] = [];
    const queue: TriggerQueue = {
      enqueue: async (input) => void queued.push(input.idempotencyKey ?? ''),
      depth: async () => 0,
    };
    const intake = new S3TriggerIntake({
      trigger: {
        name: 't',
        functionName: 'f',
        events: ['s3:*'],
        filter: { prefix: '', suffix: '' },
      },
      region: 'us-east-1',
      queue,
      dedup: store,
      metrics: new TriggerMetrics(new Registry()),
      dedupWindowMs: 60_000,
      now: () => now,
    });
    const parsed = parseS3Notification(push('a.jpg', 'W1'));
    const records = (parsed as { records: S3Record[] }).records;
    expect(await intake.accept(records)).toEqual({ queued: 1, duplicates: 0, filtered: 0 });
    now += 59_999;
    expect(await intake.accept(records)).toEqual({ queued: 0, duplicates: 1, filtered: 0 });
    now += 1;
    expect(await intake.accept(records)).toEqual({ queued: 1, duplicates: 0, filtered: 0 });
    expect(new Set(queued).size).toBe(1);
    // The push at +60 s purged the first entry and wrote a new one expiring at +120 s.
    expect(await store.triggerDedupPurge(now + 120_000)).toBe(1);
    await store.close();
  });
});
