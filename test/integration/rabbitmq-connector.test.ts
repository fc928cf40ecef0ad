/**
 * The RabbitMQ connector alone on the real broker: the `aws:rmq` record built from a real delivery,
 * bad sources (missing queue, wrong vhost, bad credentials) failing `start()` with a retryable
 * CONNECTOR error and the health Lambda would report, a queue deleted under a running consumer,
 * backlog, and a >6 MB message dead-lettered instead of invoked.
 */
import { pino } from 'pino';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  RabbitMqConnector,
  type RabbitMqConnectorOptions,
} from '../../connectors/rabbitmq/index.ts';
import type { FetchRequest, SourceRecord } from '../../src/connectors/types.ts';
import { isSluiceError } from '../../src/errors.ts';
import { createQueue, rabbit } from './rabbitmq-helpers.ts';

const ARN = 'arn:aws:mq:us-east-1:000000000000:broker:test:sluice';

function connector(
  queue: string,
  overrides: Partial<RabbitMqConnectorOptions> = {},
): RabbitMqConnector {
  const c = new RabbitMqConnector({
    mapping: { name: queue, source: { queue, virtualHost: '/' }, batchSize: 10 },
    url: rabbit().amqpUrl,
    eventSourceArn: ARN,
    retryMinMs: 100,
    retryMaxMs: 300,
    ...(process.env.RMQ_TEST_LOG ? { logger: pino({ level: process.env.RMQ_TEST_LOG }) } : {}),
    ...overrides,
  });
  onTestFinished(() => c.stop());
  return c;
}

const request = (max = 10): FetchRequest => ({
  max,
  waitMs: 2000,
  signal: new AbortController().signal,
});

async function fetchN(c: RabbitMqConnector, n: number): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for (let i = 0; i < 20 && out.length < n; i++)
    out.push(...(await c.fetch(request(n - out.length))));
  return out;
}

describe('RabbitMQ connector on the real broker', () => {
  it('builds the aws:rmq record from a delivery: properties, byte headers, base64 data', async () => {
    const q = await createQueue({ prefix: 'shape' });
    onTestFinished(() => q.cleanup());
    await q.publish(['{"timeout":0}'], () => ({
      contentType: 'text/plain',
      headers: { header1: 'value1', numberInHeader: 10 },
      priority: 34,
      expiration: '60000',
      timestamp: 2021,
      messageId: 'm-1',
    }));
    const c = connector(q.queue);
    await c.start();
    const [record] = await fetchN(c, 1);
    expect(record?.event).toEqual({
      basicProperties: {
        contentType: 'text/plain',
        contentEncoding: null,
        headers: { header1: { bytes: [118, 97, 108, 117, 101, 49] }, numberInHeader: 10 },
        deliveryMode: 2,
        priority: 34,
        correlationId: null,
        replyTo: null,
        expiration: '60000',
        messageId: 'm-1',
        timestamp: 'Jan 1, 1970, 12:33:41 AM',
        type: null,
        userId: null,
        appId: null,
        clusterId: null,
        bodySize: 13,
      },
      redelivered: false,
      data: 'eyJ0aW1lb3V0IjowfQ==',
    });
    expect(record?.id).toBe('m-1');
    expect(record?.lane).toBe(q.queue); // concurrency 1: ordered lane
    const event = JSON.parse(c.buildEvent(record ? [record] : []).toString('utf8')) as unknown;
    expect(event).toEqual({
      eventSource: 'aws:rmq',
      eventSourceArn: ARN,
      rmqMessagesByQueue: { [`${q.queue}::/`]: [record?.event] },
    });
    expect(await c.backlog()).toBe(0);
    await c.settle({ succeeded: record ? [record] : [], failed: [], dropped: [] });
  });

  it('a missing queue, a wrong vhost and bad credentials fail start() retryably, with health', async () => {
    const url = new URL(rabbit().amqpUrl);
    const cases: [RabbitMqConnector, string][] = [
      [connector('no-such-queue-for-sluice'), 'EVENT_SOURCE_NOT_FOUND'],
      [
        connector('q', {
          mapping: { source: { queue: 'q', virtualHost: 'no-such-vhost' }, batchSize: 1 },
        }),
        'EVENT_SOURCE_AUTHZ_ERROR',
      ],
      [connector('q', { url: `amqp://guest:wrong@${url.host}/` }), 'EVENT_SOURCE_AUTHN_ERROR'],
    ];
    for (const [c, reason] of cases) {
      const error = await c.start().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(isSluiceError(error, 'CONNECTOR')).toBe(true);
      expect(isSluiceError(error) && error.canRetry).toBe(true);
      expect(c.health(), JSON.stringify(c.health())).toMatchObject({ ok: false, reason });
      expect(JSON.stringify(c.health())).not.toContain('wrong'); // no credentials in health
    }
  });

  it('a queue deleted under the consumer: health not ok, then recovers when it is back', async () => {
    const q = await createQueue({ prefix: 'deleted', dlx: false });
    onTestFinished(() => q.cleanup());
    const c = connector(q.queue);
    await c.start();
    expect(c.health().ok).toBe(true);
    const admin = await q.connection.createChannel();
    await admin.deleteQueue(q.queue);
    await vi.waitFor(() => expect(c.health()).toMatchObject({ ok: false }), { timeout: 10_000 });
    await admin.assertQueue(q.queue, { durable: true });
    await q.publish(['back']);
    await vi.waitFor(() => expect(c.health().ok).toBe(true), { timeout: 10_000 });
    const records = await fetchN(c, 1);
    expect(records.map((r) => Buffer.from(String(r.event.data), 'base64').toString())).toEqual([
      'back',
    ]);
    await c.settle({ succeeded: records, failed: [], dropped: [] });
    await admin.close();
  });

  it('acks a contiguous batch and leaves the queue empty; failed ones come back in place', async () => {
    const q = await createQueue({ prefix: 'acks' });
    onTestFinished(() => q.cleanup());
    await q.publish(['a', 'b', 'c', 'd']);
    const c = connector(q.queue);
    await c.start();
    const records = await fetchN(c, 4);
    const body = (r: SourceRecord) => Buffer.from(String(r.event.data), 'base64').toString();
    expect(records.map(body)).toEqual(['a', 'b', 'c', 'd']);
    const [a, b, cc, d] = records as [SourceRecord, SourceRecord, SourceRecord, SourceRecord];
    await c.settle({ succeeded: [a, b, d], failed: [cc], dropped: [] });
    const again = await fetchN(c, 1);
    expect(again.map(body)).toEqual(['c']);
    expect(again[0]?.event.redelivered).toBe(true);
    await c.settle({ succeeded: again, failed: [], dropped: [] });
    await c.stop();
    expect((await q.drain(q.queue)).map((m) => m.body)).toEqual([]);
  });
});
