import { describe, expect, it } from 'vitest';
import { planDeliveries } from '../../src/async/deliveries.ts';
import {
  buildDeadLetterMessage,
  buildInvocationRecord,
  truncateUtf8,
} from '../../src/async/invocation-record.ts';
import { asyncConfig, memoryDestination } from './fakes/async-harness.ts';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST';

describe('invocation record and dead-letter message', () => {
  it('has exactly the shape of Lambda’s record for a function error', () => {
    const record = buildInvocationRecord({
      requestId: 'r-1',
      functionArn: ARN,
      condition: 'RetriesExhausted',
      approximateInvokeCount: 3,
      requestPayload: Buffer.from('{"order":7}'),
      response: {
        statusCode: 200,
        functionError: 'Unhandled',
        payload: '{"errorType":"Error","errorMessage":"boom"}',
        errorType: 'Error',
        errorMessage: 'boom',
      },
      nowMs: Date.UTC(2019, 10, 14, 18, 16, 5, 568),
    });
    expect(record).toStrictEqual({
      version: '1.0',
      timestamp: '2019-11-14T18:16:05.568Z',
      requestContext: {
        requestId: 'r-1',
        functionArn: ARN,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: { order: 7 },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'boom' },
    });
  });

  it('omits functionError on success and keeps a null response payload', () => {
    const record = buildInvocationRecord({
      requestId: 'r',
      functionArn: ARN,
      condition: 'Success',
      approximateInvokeCount: 1,
      requestPayload: Buffer.from('{}'),
      response: { statusCode: 200, payload: 'null' },
      nowMs: 0,
    });
    expect(record.responseContext).toStrictEqual({ statusCode: 200, executedVersion: '$LATEST' });
    expect(record.responsePayload).toBeNull();
  });

  it('dead-letters the original event with RequestID, ErrorCode and the first 1 KB of the message', () => {
    const long = 'é'.repeat(700); // 1400 bytes
    const dl = buildDeadLetterMessage('r-2', Buffer.from('{"a":1}'), {
      statusCode: 200,
      functionError: 'Unhandled',
      payload: '{}',
      errorMessage: long,
    });
    expect(dl.body).toBe('{"a":1}');
    expect(dl.attributes.RequestID).toBe('r-2');
    expect(dl.attributes.ErrorCode).toBe('200');
    expect(Buffer.byteLength(dl.attributes.ErrorMessage as string)).toBe(1024);
    expect(dl.attributes.ErrorMessage).toBe('é'.repeat(512));
  });

  it('never cuts a UTF-8 character in half', () => {
    expect(truncateUtf8('aé', 2)).toBe('a');
    expect(truncateUtf8('a😀b', 4)).toBe('a');
    expect(truncateUtf8('abc', 10)).toBe('abc');
  });

  it('plans the record for onSuccess / onFailure and the event for deadLetter', () => {
    const base = {
      functionName: 'f',
      functionArn: ARN,
      requestId: 'r',
      payload: Buffer.from('{}'),
      approximateInvokeCount: 1,
      response: { statusCode: 200, payload: '{}' },
      nowMs: 0,
    };
    const cfg = asyncConfig({
      onSuccess: memoryDestination('ok'),
      onFailure: memoryDestination('bad'),
      deadLetter: memoryDestination('dlq'),
    });
    expect(planDeliveries({ ...base, condition: 'Success' }, cfg).map((d) => d.role)).toEqual([
      'onSuccess',
    ]);
    const failed = planDeliveries({ ...base, condition: 'EventAgeExceeded' }, cfg);
    expect(failed.map((d) => [d.role, d.id])).toEqual([
      ['onFailure', 'r:onFailure'],
      ['deadLetter', 'r:deadLetter'],
    ]);
    expect(planDeliveries({ ...base, condition: 'Success' }, asyncConfig())).toEqual([]);
  });
});
