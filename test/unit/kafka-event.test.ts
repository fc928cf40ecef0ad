import { describe, expect, it } from 'vitest';
import {
  buildKafkaEvent,
  identifyKafkaItem,
  toKafkaEventRecord,
  toSourceRecord,
  type KafkaMessageLike,
} from '../../connectors/kafka/kafka-event.ts';
import { applyFilters } from '../../src/batching/record-filter.ts';
import { compileFilterCriteria } from '../../src/batching/filter-pattern.ts';
import { filterDataOf } from '../support/plugins.ts';

const message = (offset: number, value: string | null, extra: Partial<KafkaMessageLike> = {}) => ({
  offset: String(offset),
  timestamp: '1545084650987',
  key: null,
  value: value === null ? null : Buffer.from(value),
  headers: {},
  ...extra,
});

describe('kafka event', () => {
  it('matches the reference record shape: base64 key/value, header byte arrays, timestamp type', () => {
    const record = toKafkaEventRecord(
      'mytopic',
      0,
      message(15, 'Hello', {
        key: Buffer.from('abc'),
        headers: { headerKey: Buffer.from('headerValue') },
      }),
    );
    expect(record).toEqual({
      topic: 'mytopic',
      partition: 0,
      offset: 15,
      timestamp: 1545084650987,
      timestampType: 'CREATE_TIME',
      key: 'YWJj',
      value: 'SGVsbG8=',
      headers: [{ headerKey: [104, 101, 97, 100, 101, 114, 86, 97, 108, 117, 101] }],
    });
  });

  it('lists repeated headers one entry each, leaves out null keys, sends tombstones as value null', () => {
    const record = toKafkaEventRecord(
      't',
      1,
      message(0, null, {
        headers: { h: ['a', Buffer.from('b')] },
        batchContext: { timestampType: 1 },
      }),
    );
    expect(record.headers).toEqual([{ h: [97] }, { h: [98] }]);
    expect(record).not.toHaveProperty('key');
    expect(record).toHaveProperty('value', null);
    expect(record.timestampType).toBe('LOG_APPEND_TIME');
  });

  it('groups records by topic-partition in first-seen order and sizes them exactly', () => {
    const records = [
      toSourceRecord('t', 1, message(5, 'a'), 1),
      toSourceRecord('t', 0, message(9, 'b'), 1),
      toSourceRecord('t', 1, message(6, 'c'), 1),
    ];
    const event = JSON.parse(buildKafkaEvent(records, 'b-1:9092,b-2:9092').toString('utf8')) as {
      records: Record<string, { offset: number }[]>;
    };
    expect(event).toMatchObject({
      eventSource: 'SelfManagedKafka',
      bootstrapServers: 'b-1:9092,b-2:9092',
    });
    expect(Object.keys(event.records)).toEqual(['t-1', 't-0']);
    expect(event.records['t-1']?.map((r) => r.offset)).toEqual([5, 6]);
    for (const r of records) expect(r.sizeBytes).toBe(Buffer.byteLength(JSON.stringify(r.event)));
    expect(records[0]?.id).toBe('t-1@5');
    expect(records[0]?.lane).toBe('t-1');
  });

  it('filters on the decoded value through the shared filter stage', () => {
    const compiled = compileFilterCriteria(['{"value": {"type": ["click"]}}']);
    const click = toSourceRecord('t', 0, message(0, '{"type":"click"}'), 1);
    const view = toSourceRecord('t', 0, message(1, '{"type":"view"}'), 1);
    const text = toSourceRecord('t', 0, message(2, 'not json'), 1);
    expect(applyFilters(compiled, click.event, filterDataOf('kafka'))).toBe(true);
    expect(applyFilters(compiled, view.event, filterDataOf('kafka'))).toBe(false);
    expect(applyFilters(compiled, text.event, filterDataOf('kafka'))).toBe(false);
  });

  it('parses itemIdentifier {partition, offset}; anything malformed is undefined', () => {
    expect(identifyKafkaItem({ partition: 'my-topic-0', offset: 100 })).toBe('my-topic-0@100');
    expect(identifyKafkaItem({ partition: 'my-topic-0', offset: '100' })).toBe('my-topic-0@100');
    for (const bad of [
      'my-topic-0@100',
      null,
      { partition: 'my-topic', offset: 1 },
      { partition: 'my-topic-0' },
      { partition: 'my-topic-0', offset: -1 },
      { partition: 'my-topic-0', offset: 1.5 },
      { partition: 3, offset: 1 },
    ]) {
      expect(identifyKafkaItem(bad)).toBeUndefined();
    }
  });
});
