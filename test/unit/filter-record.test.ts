import { describe, expect, it } from 'vitest';
import { compileFilterCriteria } from '../../src/batching/filter-pattern.ts';
import {
  applyFilters,
  decodeRecordData,
  partitionByFilters,
} from '../../src/batching/record-filter.ts';
import { filterDataOf } from '../support/plugins.ts';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

function passes(type: string, patterns: unknown[], record: Record<string, unknown>) {
  const compiled = compileFilterCriteria(patterns.map((p) => JSON.stringify(p)));
  return applyFilters(compiled, record, filterDataOf(type));
}

const sqs = (body: string, extra: Record<string, unknown> = {}) => ({
  messageId: 'm-1',
  body,
  attributes: { ApproximateReceiveCount: '1', MessageGroupId: 'g1' },
  messageAttributes: {},
  eventSource: 'aws:sqs',
  ...extra,
});

const kafka = (value: string | null) => ({
  topic: 'orders',
  partition: 0,
  offset: 15,
  timestamp: 1545084650987,
  timestampType: 'CREATE_TIME',
  value,
  headers: [],
});

const rabbit = (data: string) => ({
  basicProperties: { contentType: 'text/plain', headers: { numberInHeader: 10 } },
  redelivered: false,
  data,
});

describe('no filters', () => {
  it('passes everything, without decoding', () => {
    const compiled = compileFilterCriteria([]);
    expect(applyFilters(compiled, sqs('not json'), filterDataOf('sqs'))).toBe(true);
    expect(applyFilters(compiled, kafka('!!!'), filterDataOf('kafka'))).toBe(true);
  });
});

describe('SQS body', () => {
  const json = JSON.stringify({ RecordNumber: 1234, RequestCode: 'BBBB' });
  it.each([
    ['JSON body vs object pattern: match', { body: { RequestCode: ['BBBB'] } }, json, true],
    ['JSON body vs object pattern: no match', { body: { RequestCode: ['AAAA'] } }, json, false],
    ['JSON body numeric', { body: { RecordNumber: [{ numeric: ['>', 1000] }] } }, json, true],
    ['plain body vs plain pattern', { body: ['Test message.'] }, 'Test message.', true],
    ['plain body vs prefix', { body: [{ prefix: 'Test' }] }, 'Test message.', true],
    ['plain body vs object pattern: dropped', { body: { a: ['x'] } }, 'Test message.', false],
    ['JSON body vs plain pattern: dropped', { body: [json] }, json, false],
    ['JSON body vs prefix pattern: dropped', { body: [{ prefix: '{' }] }, json, false],
    ['broken JSON stays a string', { body: [{ prefix: '{"a"' }] }, '{"a": ', true],
    ['JSON scalar body stays a string', { body: ['42'] }, '42', true],
    ['JSON array body', { body: { id: [2] } }, '[{"id": 1}, {"id": 2}]', true],
    ['body with leading whitespace', { body: { a: [1] } }, '  \n{"a": 1}', true],
  ])('%s', (_name, pattern, body, expected) => {
    expect(passes('sqs', [pattern], sqs(body))).toBe(expected);
  });

  it('filters on metadata too', () => {
    const record = sqs('x');
    expect(passes('sqs', [{ attributes: { MessageGroupId: ['g1'] } }], record)).toBe(true);
    expect(passes('sqs', [{ attributes: { MessageGroupId: ['g2'] } }], record)).toBe(false);
  });

  it('ORs the patterns of a mapping', () => {
    const patterns = [{ body: { a: [1] } }, { body: { a: [2] } }];
    expect(passes('sqs', patterns, sqs('{"a": 2}'))).toBe(true);
    expect(passes('sqs', patterns, sqs('{"a": 3}'))).toBe(false);
  });
});

describe('Kafka value (base64)', () => {
  const value = b64(JSON.stringify({ device_ID: 'AB1234', session: { duration: 162 } }));
  it.each([
    ['JSON value: prefix (AWS example)', { value: { device_ID: [{ prefix: 'AB' }] } }, value, true],
    ['JSON value: no match', { value: { device_ID: [{ prefix: 'CD' }] } }, value, false],
    [
      'JSON value: nested numeric',
      { value: { session: { duration: [{ numeric: ['>', 100] }] } } },
      value,
      true,
    ],
    [
      'non-JSON value vs data pattern',
      { value: { device_ID: [{ exists: true }] } },
      b64('Hello'),
      false,
    ],
    ['non-JSON value vs plain pattern', { value: ['Hello'] }, b64('Hello'), false],
    ['non-JSON value vs exists:false', { value: [{ exists: false }] }, b64('Hello'), true],
    ['non-JSON value: metadata filter applies', { topic: ['orders'] }, b64('Hello'), true],
    ['non-JSON value: metadata filter fails', { topic: ['other'] }, b64('Hello'), false],
    ['JSON string value', { value: ['Hello'] }, b64('"Hello"'), true],
    ['JSON number value', { value: [{ numeric: ['=', 7] }] }, b64('7'), true],
    [
      'not UTF-8',
      { value: [{ exists: true }] },
      Buffer.from([0xff, 0xfe, 0x7b]).toString('base64'),
      false,
    ],
  ])('%s', (_name, pattern, raw, expected) => {
    expect(passes('kafka', [pattern], kafka(raw))).toBe(expected);
  });

  it('treats a tombstone (null value) as absent', () => {
    expect(passes('kafka', [{ value: [{ exists: false }] }], kafka(null))).toBe(true);
    expect(passes('kafka', [{ value: { a: [1] } }], kafka(null))).toBe(false);
  });

  it('accepts raw bytes as well as base64', () => {
    expect(decodeRecordData(filterDataOf('kafka'), Buffer.from('{"a": 1}'))).toEqual({ a: 1 });
    expect(decodeRecordData(filterDataOf('kafka'), new TextEncoder().encode('[1]'))).toEqual([1]);
  });
});

describe('RabbitMQ data (base64)', () => {
  it('matches JSON data and metadata', () => {
    const record = rabbit(b64('{"timeout": 0}'));
    expect(passes('rabbitmq', [{ data: { timeout: [0] } }], record)).toBe(true);
    expect(passes('rabbitmq', [{ data: { timeout: [1] } }], record)).toBe(false);
    expect(
      passes('rabbitmq', [{ basicProperties: { headers: { numberInHeader: [10] } } }], record),
    ).toBe(true);
  });

  it('applies only metadata filters to non-JSON data', () => {
    const record = rabbit(b64('plain text'));
    expect(passes('rabbitmq', [{ data: { a: [{ exists: false }] } }], record)).toBe(true);
    expect(passes('rabbitmq', [{ data: [{ prefix: 'plain' }] }], record)).toBe(false);
    expect(passes('rabbitmq', [{ redelivered: [false] }], record)).toBe(true);
  });

  it('does not use another source’s data key', () => {
    // `body` is not RabbitMQ's data key, so it is matched raw (and here absent).
    expect(passes('rabbitmq', [{ body: { a: [1] } }], rabbit(b64('{"a": 1}')))).toBe(false);
  });
});

describe('decoding cost', () => {
  it('parses the data at most once per record, and not at all when no pattern needs it', () => {
    let reads = 0;
    const record: Record<string, unknown> = { topic: 'orders' };
    Object.defineProperty(record, 'value', {
      enumerable: true,
      get: () => {
        reads++;
        return b64('{"a": 2}');
      },
    });
    const patterns = [{ value: { a: [1] } }, { value: { a: [2] } }, { value: { b: [3] } }];
    expect(passes('kafka', patterns, record)).toBe(true);
    expect(reads).toBe(1);
    reads = 0;
    expect(passes('kafka', [{ topic: ['orders'] }], record)).toBe(true);
    expect(reads).toBe(0);
  });
});

describe('partitionByFilters', () => {
  it('keeps order in both halves', () => {
    const compiled = compileFilterCriteria([JSON.stringify({ body: { keep: [true] } })]);
    const records = [
      sqs('{"keep": true}'),
      sqs('x'),
      sqs('{"keep": false}'),
      sqs('{"keep": true}'),
    ];
    const { passed, filteredOut } = partitionByFilters(compiled, records, filterDataOf('sqs'));
    expect(passed).toEqual([records[0], records[3]]);
    expect(filteredOut).toEqual([records[1], records[2]]);
  });
});
