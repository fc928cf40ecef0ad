import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { compileFilterCriteria } from '../../src/batching/filter-pattern.ts';
import { applyFilters } from '../../src/batching/record-filter.ts';
import { isFifoQueueUrl, parseQueueUrl, queueArnFromUrl } from '../../connectors/sqs/queue-arn.ts';
import { runBatch } from '../../connectors/sqs/sqs-batch.ts';
import { parseRedrivePolicy } from '../../connectors/sqs/sqs-connector.ts';
import { translateSqsError } from '../../connectors/sqs/sqs-errors.ts';
import {
  buildSqsEvent,
  convertMessageAttributes,
  toSourceRecord,
  toSqsEventRecord,
  type SqsQueueIdentity,
} from '../../connectors/sqs/sqs-event.ts';
import {
  chunks,
  exponentialBackoff,
  failedVisibilitySeconds,
  heartbeatIntervalMs,
  receiveSize,
  waitTimeSeconds,
} from '../../connectors/sqs/sqs-visibility.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { filterDataOf } from '../support/plugins.ts';

const standard: SqsQueueIdentity = {
  eventSourceArn: 'arn:aws:sqs:us-east-2:123456789012:my-queue',
  awsRegion: 'us-east-2',
  fifo: false,
};
const fifo: SqsQueueIdentity = {
  eventSourceArn: 'arn:aws:sqs:us-east-2:123456789012:fifo.fifo',
  awsRegion: 'us-east-2',
  fifo: true,
};

// What @aws-sdk/client-sqs returns for a FIFO message received with `All` attributes.
const fifoMessage: Message = {
  MessageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
  ReceiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...',
  MD5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
  Body: 'Test message.',
  Attributes: {
    ApproximateFirstReceiveTimestamp: '1545082649185',
    SentTimestamp: '1545082649183',
    MessageDeduplicationId: '1',
    SenderId: 'AIDAIENQZJOLO23YVJ4VO',
    ApproximateReceiveCount: '1',
    MessageGroupId: '1',
    SequenceNumber: '18849496460467696128',
  },
  MD5OfMessageAttributes: '6bac9e7ef24d4ec3c8a0763521b5b41c',
  MessageAttributes: { Attr1: { DataType: 'String', StringValue: 'v1' } },
};

describe('toSqsEventRecord', () => {
  it('builds the exact Lambda record of a FIFO message', () => {
    expect(toSqsEventRecord(fifoMessage, fifo)).toStrictEqual({
      messageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
      receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...',
      body: 'Test message.',
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '1545082649183',
        SenderId: 'AIDAIENQZJOLO23YVJ4VO',
        ApproximateFirstReceiveTimestamp: '1545082649185',
        SequenceNumber: '18849496460467696128',
        MessageGroupId: '1',
        MessageDeduplicationId: '1',
      },
      messageAttributes: {
        Attr1: {
          stringValue: 'v1',
          stringListValues: [],
          binaryListValues: [],
          dataType: 'String',
        },
      },
      md5OfBody: 'e4e68fb7bd0e697a0ae8f1bb342846b3',
      md5OfMessageAttributes: '6bac9e7ef24d4ec3c8a0763521b5b41c',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:fifo.fifo',
      awsRegion: 'us-east-2',
    });
  });

  it('keeps the key order of the Lambda example', () => {
    const record = toSqsEventRecord(fifoMessage, fifo);
    expect(Object.keys(record)).toEqual([
      'messageId',
      'receiptHandle',
      'body',
      'attributes',
      'messageAttributes',
      'md5OfBody',
      'md5OfMessageAttributes',
      'eventSource',
      'eventSourceARN',
      'awsRegion',
    ]);
    expect(Object.keys(record.attributes)).toEqual([
      'ApproximateReceiveCount',
      'SentTimestamp',
      'SenderId',
      'ApproximateFirstReceiveTimestamp',
      'SequenceNumber',
      'MessageGroupId',
      'MessageDeduplicationId',
    ]);
  });

  it('leaves FIFO-only attributes out for a standard queue and keeps the optional ones', () => {
    const message: Message = {
      ...fifoMessage,
      Attributes: {
        ...fifoMessage.Attributes,
        AWSTraceHeader: 'Root=1-5e8f;Parent=2;Sampled=1',
        DeadLetterQueueSourceArn: 'arn:aws:sqs:us-east-2:123456789012:src',
        // Returned for `All` by some brokers; not part of the Lambda record.
        ...({ SqsManagedSseEnabled: 'true' } as Record<string, string>),
      },
    };
    expect(toSqsEventRecord(message, standard).attributes).toStrictEqual({
      ApproximateReceiveCount: '1',
      SentTimestamp: '1545082649183',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1545082649185',
      AWSTraceHeader: 'Root=1-5e8f;Parent=2;Sampled=1',
      DeadLetterQueueSourceArn: 'arn:aws:sqs:us-east-2:123456789012:src',
    });
  });

  it('computes md5OfBody when SQS did not send one, and gives an empty body as ""', () => {
    const record = toSqsEventRecord({ MessageId: 'm', ReceiptHandle: 'r' }, standard);
    expect(record.body).toBe('');
    expect(record.md5OfBody).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(record.attributes).toEqual({});
    expect(record.messageAttributes).toEqual({});
  });

  it('refuses a message without id or receipt handle', () => {
    expect(() => toSqsEventRecord({ Body: 'x' }, standard)).toThrow(/without MessageId/);
  });
});

describe('convertMessageAttributes', () => {
  it('converts String, Number, Binary (base64) and custom types', () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    expect(
      convertMessageAttributes({
        s: { DataType: 'String', StringValue: 'hello' },
        n: { DataType: 'Number', StringValue: '42.5' },
        b: { DataType: 'Binary', BinaryValue: bytes },
        c: { DataType: 'String.custom', StringValue: 'x' },
      }),
    ).toStrictEqual({
      s: { stringValue: 'hello', stringListValues: [], binaryListValues: [], dataType: 'String' },
      n: { stringValue: '42.5', stringListValues: [], binaryListValues: [], dataType: 'Number' },
      b: {
        binaryValue: 'AAEC+v8=',
        stringListValues: [],
        binaryListValues: [],
        dataType: 'Binary',
      },
      c: {
        stringValue: 'x',
        stringListValues: [],
        binaryListValues: [],
        dataType: 'String.custom',
      },
    });
  });

  it('encodes a Uint8Array view at an offset correctly', () => {
    const backing = new Uint8Array([9, 9, 104, 105, 9]);
    const view = backing.subarray(2, 4);
    expect(convertMessageAttributes({ b: { DataType: 'Binary', BinaryValue: view } }).b).toEqual(
      expect.objectContaining({ binaryValue: Buffer.from('hi').toString('base64') }),
    );
  });
});

describe('toSourceRecord', () => {
  it('uses the message group as lane for FIFO and the sent time as timestamp', () => {
    const record = toSourceRecord(fifoMessage, fifo, 99);
    expect(record.id).toBe(fifoMessage.MessageId);
    expect(record.lane).toBe('1');
    expect(record.timestampMs).toBe(1545082649183);
    expect(record.handle).toEqual({ receiptHandle: fifoMessage.ReceiptHandle, receiveCount: 1 });
    expect(record.sizeBytes).toBe(Buffer.byteLength(JSON.stringify(record.event)));
  });

  it('uses the unordered lane for standard queues, even with a MessageGroupId', () => {
    expect(toSourceRecord(fifoMessage, standard, 0).lane).toBe('');
  });

  it('lets filters match a JSON body as an object and a plain body as the string', () => {
    const onType = compileFilterCriteria(['{"body": {"type": ["order"]}}']);
    const onText = compileFilterCriteria(['{"body": ["not json {"]}']);
    const json = toSourceRecord({ ...fifoMessage, Body: '{"type":"order","n":1}' }, fifo, 0);
    expect(json.event.body).toBe('{"type":"order","n":1}');
    expect(applyFilters(onType, json.event, filterDataOf('sqs'))).toBe(true);
    const plain = toSourceRecord({ ...fifoMessage, Body: 'not json {' }, fifo, 0);
    expect(applyFilters(onType, plain.event, filterDataOf('sqs'))).toBe(false);
    expect(applyFilters(onText, plain.event, filterDataOf('sqs'))).toBe(true);
  });

  it('falls back to now when SentTimestamp is missing', () => {
    expect(toSourceRecord({ MessageId: 'm', ReceiptHandle: 'r' }, standard, 1234).timestampMs).toBe(
      1234,
    );
  });

  it('counts multi-byte characters in sizeBytes', () => {
    const record = toSourceRecord({ ...fifoMessage, Body: 'é€😀' }, fifo, 0);
    expect(record.sizeBytes).toBe(Buffer.byteLength(JSON.stringify(record.event), 'utf8'));
    expect(record.sizeBytes).toBeGreaterThan(JSON.stringify(record.event).length);
  });
});

describe('buildSqsEvent', () => {
  it('wraps records in {"Records":[…]} in the given order', () => {
    const a = toSourceRecord({ ...fifoMessage, MessageId: 'a' }, fifo, 0);
    const b = toSourceRecord({ ...fifoMessage, MessageId: 'b' }, fifo, 0);
    const event = JSON.parse(buildSqsEvent([b, a]).toString('utf8')) as {
      Records: { messageId: string }[];
    };
    expect(Object.keys(event)).toEqual(['Records']);
    expect(event.Records.map((r) => r.messageId)).toEqual(['b', 'a']);
    expect(event.Records[0]).toEqual(b.event);
  });
});

describe('queue URL → ARN', () => {
  it.each([
    [
      'https://sqs.us-east-2.amazonaws.com/123456789012/orders',
      'eu-west-1',
      'arn:aws:sqs:eu-west-1:123456789012:orders',
    ],
    [
      'http://127.0.0.1:19324/000000000000/orders.fifo',
      'us-east-1',
      'arn:aws:sqs:us-east-1:000000000000:orders.fifo',
    ],
    [
      'http://localhost:4566/queue/us-east-1/000000000000/q',
      'us-east-1',
      'arn:aws:sqs:us-east-1:000000000000:q',
    ],
    [
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q/',
      'cn-north-1',
      'arn:aws-cn:sqs:cn-north-1:123456789012:q',
    ],
  ])('%s in %s → %s', (url, region, arn) => {
    expect(queueArnFromUrl(url, region)).toBe(arn);
  });

  it('reads the region of AWS hosts', () => {
    expect(parseQueueUrl('https://sqs.ap-south-1.amazonaws.com/1/q').hostRegion).toBe('ap-south-1');
    expect(parseQueueUrl('https://eu-west-1.queue.amazonaws.com/1/q').hostRegion).toBe('eu-west-1');
    expect(parseQueueUrl('http://127.0.0.1:19324/000000000000/q').hostRegion).toBeUndefined();
  });

  it('tells FIFO queues by name and rejects URLs that name no queue', () => {
    expect(isFifoQueueUrl('http://h/000000000000/a.fifo')).toBe(true);
    expect(isFifoQueueUrl('http://h/000000000000/a')).toBe(false);
    expect(() => parseQueueUrl('http://h/only-one')).toThrow(/account id/);
    expect(() => parseQueueUrl('not a url')).toThrow(/not a URL/);
  });
});

describe('visibility sizing', () => {
  it('receives 1–10 messages', () => {
    expect([0, 1, 7.9, 10, 500, Infinity].map(receiveSize)).toEqual([0, 1, 7, 10, 10, 0]);
  });

  it('long-polls in whole seconds, up to 20, never short-polls a wait', () => {
    expect([0, 1, 999, 1000, 1500, 20_000, 60_000].map(waitTimeSeconds)).toEqual([
      0, 1, 1, 1, 2, 20, 20,
    ]);
  });

  it('heartbeats every third of the visibility timeout', () => {
    expect(heartbeatIntervalMs(30)).toBe(10_000);
    expect(heartbeatIntervalMs(1)).toBe(333);
    expect(heartbeatIntervalMs(0)).toBeUndefined();
  });

  it('rounds failed visibility up to seconds, with a fixed or computed backoff', () => {
    expect(failedVisibilitySeconds(0, 3)).toBe(0);
    expect(failedVisibilitySeconds(1, 1)).toBe(1);
    expect(failedVisibilitySeconds(2500, 1)).toBe(3);
    expect(failedVisibilitySeconds((n) => 1000 * 2 ** n, 3)).toBe(8);
    expect(failedVisibilitySeconds(1e12, 1)).toBe(43_200);
  });

  it('source.retryBackoff: base after the first failure, doubling per receive, capped', () => {
    const backoff = exponentialBackoff(5000, 60_000);
    expect([1, 2, 3, 4, 5, 6].map((n) => failedVisibilitySeconds(backoff, n))).toEqual([
      5, 10, 20, 40, 60, 60,
    ]);
    expect(failedVisibilitySeconds(exponentialBackoff(0, 900_000), 4)).toBe(0);
    // A huge receive count neither overflows nor passes the cap.
    expect(failedVisibilitySeconds(exponentialBackoff(1000, 900_000), 5000)).toBe(900);
  });

  it('chunks batch entries by 10', () => {
    expect(chunks(Array.from({ length: 23 }, (_, i) => i)).map((c) => c.length)).toEqual([
      10, 10, 3,
    ]);
  });

  it('parses the redrive policy, numbers as strings too', () => {
    expect(parseRedrivePolicy('{"deadLetterTargetArn":"arn:x","maxReceiveCount":"3"}')).toEqual({
      deadLetterTargetArn: 'arn:x',
      maxReceiveCount: 3,
    });
    expect(parseRedrivePolicy(undefined)).toBeUndefined();
    expect(parseRedrivePolicy('nope')).toBeUndefined();
  });
});

describe('translateSqsError', () => {
  const url = 'http://127.0.0.1:19324/000000000000/q';
  const named = (name: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(`${name} happened`), { name, ...extra });

  it('names a missing queue with EVENT_SOURCE_NOT_FOUND', () => {
    const { error, health } = translateSqsError(
      named('QueueDoesNotExist'),
      'GetQueueAttributes',
      url,
    );
    expect(error).toMatchObject({ code: 'CONNECTOR', canRetry: true });
    expect(error.message).toContain(url);
    expect(health).toMatchObject({ ok: false, reason: 'EVENT_SOURCE_NOT_FOUND' });
  });

  it('reports refused connections as unreachable, retryable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
      code: 'ECONNREFUSED',
    });
    const aggregate = new AggregateError([refused], 'connect failed');
    for (const cause of [refused, aggregate]) {
      const { error, health } = translateSqsError(cause, 'ReceiveMessage', url);
      expect(error.canRetry).toBe(true);
      expect(health).toMatchObject({ ok: false, reason: 'EVENT_SOURCE_UNREACHABLE' });
      expect(health?.detail).toContain('ECONNREFUSED');
    }
  });

  it('reports credential errors as EVENT_SOURCE_AUTHN_ERROR and denials as AUTHZ', () => {
    expect(translateSqsError(named('InvalidClientTokenId'), 'op', url)).toMatchObject({
      error: { canRetry: false },
      health: { ok: false, reason: 'EVENT_SOURCE_AUTHN_ERROR' },
    });
    expect(translateSqsError(named('CredentialsProviderError'), 'op', url)).toMatchObject({
      error: { canRetry: true },
      health: { reason: 'EVENT_SOURCE_AUTHN_ERROR' },
    });
    expect(translateSqsError(named('AccessDenied'), 'op', url).health).toMatchObject({
      reason: 'EVENT_SOURCE_AUTHZ_ERROR',
    });
  });

  it('retries throttling and server faults without blaming health for throttles', () => {
    expect(translateSqsError(named('RequestThrottled'), 'op', url)).toMatchObject({
      error: { canRetry: true },
      health: undefined,
    });
    const server = named('InternalError', { $fault: 'server' });
    expect(translateSqsError(server, 'op', url).error.canRetry).toBe(true);
    const client = named('InvalidParameterValue', { $fault: 'client' });
    expect(translateSqsError(client, 'op', url).error.canRetry).toBe(false);
  });
});

describe('runBatch (fake client)', () => {
  type Sent = { input: { Entries: { Id: string; ReceiptHandle: string }[] } };
  function fakeClient(answers: (Error | { Failed?: unknown[] })[]) {
    const sent: Sent[] = [];
    const client = {
      send: async (command: Sent) => {
        sent.push(command);
        const answer = answers.shift() ?? {};
        if (answer instanceof Error) throw answer;
        return answer;
      },
    };
    return { sent, client: client as unknown as SQSClient };
  }
  const target = (client: SQSClient) => ({
    client,
    queueUrl: 'http://127.0.0.1:19324/000000000000/q',
    logger: silentLogger(),
    attempts: 3,
  });
  const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ receiptHandle: `r${i}` }));

  it('sends chunks of 10 and retries only entries that failed on the server side', async () => {
    const { sent, client } = fakeClient([
      {
        Failed: [
          { Id: '1', SenderFault: false, Code: 'InternalError' },
          { Id: '2', SenderFault: true, Code: 'ReceiptHandleIsInvalid' },
        ],
      },
      {},
    ]);
    await runBatch(target(client), 'DeleteMessageBatch', entries(11));
    const handles = sent.map((command) => command.input.Entries.map((e) => e.ReceiptHandle));
    expect(handles[0]).toHaveLength(10);
    expect(handles.slice(1).sort()).toEqual([['r1'], ['r10']].sort());
  });

  it('retries a refused request, then gives up without throwing', async () => {
    const refused = () =>
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const { sent, client } = fakeClient([refused(), refused(), refused(), refused()]);
    await expect(
      runBatch(target(client), 'DeleteMessageBatch', entries(2)),
    ).resolves.toBeUndefined();
    expect(sent).toHaveLength(3);
  });
});
