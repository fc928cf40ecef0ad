/**
 * The events sluice builds, checked against AWS's own published schemas (Powertools for AWS
 * Lambda (TypeScript) parser), not hand-written expectations: a function that parses its event
 * with Powertools must accept what sluice sends.
 */
import {
  KafkaMskEventSchema,
  KafkaSelfManagedEventSchema,
  SqsSchema,
} from '@aws-lambda-powertools/parser/schemas';
import { describe, expect, it } from 'vitest';
import {
  buildKafkaEvent,
  toKafkaEventRecord,
  toSourceRecord,
  type KafkaMessageLike,
} from '../../connectors/kafka/kafka-event.ts';
import {
  buildSqsEvent,
  toSourceRecord as toSqsSourceRecord,
  toSqsEventRecord,
} from '../../connectors/sqs/sqs-event.ts';

const kafkaMessage = (extra: Partial<KafkaMessageLike> = {}): KafkaMessageLike => ({
  offset: '15',
  timestamp: '1545084650987',
  key: Buffer.from('k'),
  value: Buffer.from('{"a":1}'),
  headers: {},
  ...extra,
});

function kafkaEvent(message: KafkaMessageLike): unknown {
  const record = toSourceRecord('mytopic', 0, message, 1);
  return JSON.parse(buildKafkaEvent([record], 'b-1:9092').toString('utf8'));
}

describe('Kafka event against Powertools schemas', () => {
  it('sends header bytes as Java signed bytes, as Lambda does ("é" → [-61,-87])', () => {
    const record = toKafkaEventRecord(
      't',
      0,
      kafkaMessage({ headers: { name: 'é', raw: Buffer.from([0x00, 0x7f, 0x80, 0xff]) } }),
    );
    expect(record.headers).toEqual([{ name: [-61, -87] }, { raw: [0, 127, -128, -1] }]);
  });

  // Powertools' header transform is `String.fromCodePoint(...bytes)`, which throws on the negative
  // bytes Lambda itself sends for values ≥ 0x80 (a Powertools limitation on AWS too, not ours):
  // the schema checks here use ASCII header values.
  it('builds an event KafkaSelfManagedEventSchema accepts', () => {
    const event = kafkaEvent(kafkaMessage({ headers: { plain: 'v', other: Buffer.from('x') } }));
    const parsed = KafkaSelfManagedEventSchema.parse(event);
    const record = parsed.records['mytopic-0']?.[0];
    expect(record?.value).toBe('{"a":1}');
    expect(record?.key).toBe('k');
    expect(record?.headers).toEqual([{ plain: 'v' }, { other: 'x' }]);
  });

  it('has the record shape KafkaMskEventSchema accepts (eventSource aws:kafka + ARN)', () => {
    const event = kafkaEvent(kafkaMessage({ headers: { h: 'v' } })) as Record<string, unknown>;
    const msk = { ...event, eventSource: 'aws:kafka', eventSourceArn: 'arn:aws:kafka:x' };
    expect(() => KafkaMskEventSchema.parse(msk)).not.toThrow();
  });

  it('sends a tombstone (null value) as "value": null, as Lambda does', () => {
    const event = kafkaEvent(kafkaMessage({ value: null })) as {
      records: Record<string, Record<string, unknown>[]>;
    };
    const record = event.records['mytopic-0']?.[0];
    expect(record).toHaveProperty('value', null);
    expect(record).toHaveProperty('key', 'aw==');
  });
});

describe('SQS event against Powertools SqsSchema', () => {
  const queue = {
    eventSourceArn: 'arn:aws:sqs:us-east-1:000000000000:q',
    awsRegion: 'us-east-1',
    fifo: false,
  };
  const message = {
    MessageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
    ReceiptHandle: 'AQEB',
    MD5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
    Body: 'Test message.',
    Attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1545082649183',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1545082649185',
    },
  };

  it('carries md5OfMessageAttributes as SQS returned it', () => {
    const withAttributes = {
      ...message,
      MD5OfMessageAttributes: '6bac9e7ef24d4ec3c8a0763521b5b41c',
      MessageAttributes: { Attr1: { DataType: 'String', StringValue: 'v1' } },
    };
    const record = toSqsEventRecord(withAttributes, queue);
    expect(record.md5OfMessageAttributes).toBe('6bac9e7ef24d4ec3c8a0763521b5b41c');
    const event = buildSqsEvent([toSqsSourceRecord(withAttributes, queue, 0)]);
    const parsed = SqsSchema.parse(JSON.parse(event.toString('utf8')));
    expect(parsed.Records[0]?.md5OfMessageAttributes).toBe('6bac9e7ef24d4ec3c8a0763521b5b41c');
  });

  it('sends md5OfMessageAttributes: null when the message has no attributes, as AWS', () => {
    const record = toSqsEventRecord(message, queue);
    expect(record).toHaveProperty('md5OfMessageAttributes', null);
    const event = buildSqsEvent([toSqsSourceRecord(message, queue, 0)]);
    expect(() => SqsSchema.parse(JSON.parse(event.toString('utf8')))).not.toThrow();
  });
});
