import { describe, expect, it } from 'vitest';
import {
  attemptsBefore,
  buildRmqEvent,
  convertHeaders,
  formatAmqpTimestamp,
  queueKey,
  recordId,
  rmqEventRecordJson,
  toRmqEventRecord,
  toSourceRecord,
  type AmqpDelivery,
} from '../../connectors/rabbitmq/index.ts';
import { applyFilters } from '../../src/batching/record-filter.ts';
import { compileFilterCriteria } from '../../src/batching/filter-pattern.ts';
import { filterDataOf } from '../support/plugins.ts';

function delivery(
  body: string,
  properties: AmqpDelivery['properties'] = {},
  tag = 1,
): AmqpDelivery {
  return {
    content: Buffer.from(body),
    fields: { deliveryTag: tag, redelivered: false },
    properties,
  };
}

const identity = { queue: 'pizzaQueue', virtualHost: '/', eventSourceArn: 'arn:aws:mq:x' };

describe('aws:rmq event shape', () => {
  it('writes each record JSON directly, byte for byte what JSON.stringify of the record gives', () => {
    const cases: AmqpDelivery[] = [
      delivery('{"a":1}'),
      delivery('', { messageId: 'm-1', deliveryMode: 2, priority: 0, timestamp: 1_700_000_000 }),
      delivery('ünïcødé "quoted" \\ body', {
        contentType: 'application/json',
        contentEncoding: 'gzip',
        correlationId: 'c"1\n',
        replyTo: Buffer.from('reply-ü'),
        expiration: '60000',
        messageId: 'm-\u2028',
        type: 't',
        userId: 'guest',
        appId: 'app',
        clusterId: 'cl',
        headers: { s: 'ab', n: 1.5, big: 10n, list: ['x', 2], table: { inner: Buffer.from([7]) } },
        priority: Number.NaN,
      }),
      delivery('x', { headers: {}, deliveryMode: Number.POSITIVE_INFINITY, timestamp: 0 }),
    ];
    cases[1]!.fields.redelivered = true;
    for (const d of cases) {
      const json = rmqEventRecordJson(d);
      expect(json).toBe(JSON.stringify(toRmqEventRecord(d)));
      const record = toSourceRecord(d, { session: 1, lane: '', nowMs: 5 });
      expect(record.event).toEqual(JSON.parse(json));
      expect(record.sizeBytes).toBe(Buffer.byteLength(json));
    }
  });

  it('formats AMQP timestamps like Lambda (Java MEDIUM, UTC)', () => {
    expect(formatAmqpTimestamp(2021)).toBe('Jan 1, 1970, 12:33:41 AM');
    expect(formatAmqpTimestamp(Date.UTC(2024, 6, 4, 13, 5, 9) / 1000)).toBe(
      'Jul 4, 2024, 1:05:09 PM',
    );
    expect(formatAmqpTimestamp(Date.UTC(2024, 11, 31, 12, 0, 0) / 1000)).toBe(
      'Dec 31, 2024, 12:00:00 PM',
    );
  });

  it('turns string and byte header values into {bytes}, keeps numbers, recurses into tables and arrays', () => {
    expect(
      convertHeaders({
        s: 'ab',
        n: 10,
        b: true,
        buf: Buffer.from([1, 2]),
        list: ['a', 1],
        table: { inner: 'x' },
        nothing: null,
      }),
    ).toEqual({
      s: { bytes: [97, 98] },
      n: 10,
      b: true,
      buf: { bytes: [1, 2] },
      list: [{ bytes: [97] }, 1],
      table: { inner: { bytes: [120] } },
      nothing: null,
    });
  });

  it('every basic property is present, null when absent; data is base64; headers null when empty', () => {
    const r = toSourceRecord(delivery('hi', { headers: {} }), { session: 1, lane: '', nowMs: 5 });
    expect(r.event).toEqual({
      basicProperties: {
        contentType: null,
        contentEncoding: null,
        headers: null,
        deliveryMode: null,
        priority: null,
        correlationId: null,
        replyTo: null,
        expiration: null,
        messageId: null,
        timestamp: null,
        type: null,
        userId: null,
        appId: null,
        clusterId: null,
        bodySize: 2,
      },
      redelivered: false,
      data: 'aGk=',
    });
    expect(r.sizeBytes).toBe(Buffer.byteLength(JSON.stringify(r.event)));
    expect(r.timestampMs).toBe(5);
  });

  it('id is the messageId when set, else the delivery tag', () => {
    expect(recordId(delivery('x', { messageId: 'm-1' }, 7))).toBe('m-1');
    expect(recordId(delivery('x', {}, 7))).toBe('7');
    expect(recordId(delivery('x', { messageId: '' }, 8))).toBe('8');
  });

  it('counts earlier failures from x-delivery-count and x-sluice-delivery-count', () => {
    expect(attemptsBefore(undefined)).toBe(0);
    expect(attemptsBefore({ 'x-delivery-count': 2 })).toBe(2);
    expect(attemptsBefore({ 'x-sluice-delivery-count': 3, 'x-delivery-count': 1 })).toBe(4);
    expect(attemptsBefore({ 'x-sluice-delivery-count': 'junk' })).toBe(0);
  });

  it('builds the batch keyed queue::vhost, records in the given order', () => {
    const a = toSourceRecord(delivery('a', {}, 1), { session: 1, lane: 'q', nowMs: 0 });
    const b = toSourceRecord(delivery('b', {}, 2), { session: 1, lane: 'q', nowMs: 0 });
    const event = JSON.parse(buildRmqEvent([b, a], identity).toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(event).toEqual({
      eventSource: 'aws:rmq',
      eventSourceArn: 'arn:aws:mq:x',
      rmqMessagesByQueue: { [queueKey('pizzaQueue', '/')]: [b.event, a.event] },
    });
    expect(queueKey('pizzaQueue', '/')).toBe('pizzaQueue::/');
  });

  it('filters on data decoded from base64 (JSON), metadata filters still apply to non-JSON bodies', () => {
    const json = toSourceRecord(delivery('{"type":"order"}'), { session: 1, lane: '', nowMs: 0 });
    const text = toSourceRecord(delivery('not json', { contentType: 'text/plain' }), {
      session: 1,
      lane: '',
      nowMs: 0,
    });
    const onData = compileFilterCriteria(['{"data": {"type": ["order"]}}']);
    const onMeta = compileFilterCriteria(['{"basicProperties": {"contentType": ["text/plain"]}}']);
    expect(applyFilters(onData, json.event, filterDataOf('rabbitmq'))).toBe(true);
    expect(applyFilters(onData, text.event, filterDataOf('rabbitmq'))).toBe(false);
    expect(applyFilters(onMeta, text.event, filterDataOf('rabbitmq'))).toBe(true);
  });
});
