import { describe, expect, it } from 'vitest';
import { toSourceRecord } from '../../connectors/kafka/kafka-event.ts';
import {
  buildFailureRecord,
  decideLaneFailure,
  decodeRetryMetadata,
  encodeRetryMetadata,
  retryDelayMs,
  type KafkaRetrySettings,
} from '../../connectors/kafka/kafka-failure-policy.ts';

const rec = (offset: number, timestampMs = 1_000_000) =>
  toSourceRecord(
    't',
    0,
    { offset: String(offset), timestamp: String(timestampMs), key: null, value: Buffer.from('x') },
    1,
  );
const batch = (n: number) => Array.from({ length: n }, (_, i) => rec(i));
const infinite: KafkaRetrySettings = {
  maximumRetryAttempts: Number.POSITIVE_INFINITY,
  maximumRecordAgeMs: Number.POSITIVE_INFINITY,
  bisectBatchOnFunctionError: false,
};
const base = { retry: undefined, functionError: true, nowMs: 1_000_000 };

describe('kafka failure policy', () => {
  it('default: retries the whole batch forever, counting attempts', () => {
    let retry;
    for (let i = 1; i <= 50; i++) {
      const d = decideLaneFailure({ ...base, records: batch(3), retry }, infinite);
      expect(d.dropped).toEqual([]);
      expect(d.retry).toHaveLength(3);
      retry = d.nextRetry;
      expect(retry?.attempts).toBe(i);
    }
  });

  it('maximumRetryAttempts: 0 gives up at the first failure; 2 after the third', () => {
    const none = decideLaneFailure(
      { ...base, records: batch(2) },
      { ...infinite, maximumRetryAttempts: 0 },
    );
    expect(none.dropped.map((d) => d.reason)).toEqual(['RetriesExhausted', 'RetriesExhausted']);
    expect(none.retry).toEqual([]);
    const s = { ...infinite, maximumRetryAttempts: 2 };
    let retry;
    for (let i = 0; i < 2; i++) {
      const d = decideLaneFailure({ ...base, records: batch(2), retry }, s);
      expect(d.dropped).toEqual([]);
      retry = d.nextRetry;
    }
    const last = decideLaneFailure({ ...base, records: batch(2), retry }, s);
    expect(last.dropped.map((d) => d.attempts)).toEqual([3, 3]);
  });

  it('a reported failure gives up only the reported record; the rest start a fresh count', () => {
    const s = { ...infinite, maximumRetryAttempts: 0 };
    const d = decideLaneFailure({ ...base, functionError: false, records: batch(3) }, s);
    expect(d.dropped.map((x) => x.record.id)).toEqual(['t-0@0']);
    expect(d.retry.map((r) => r.id)).toEqual(['t-0@1', 't-0@2']);
    expect(d.nextRetry).toBeUndefined();
  });

  it('bisect halves a failed batch without counting an attempt, down to one record', () => {
    const s = { ...infinite, maximumRetryAttempts: 0, bisectBatchOnFunctionError: true };
    const d = decideLaneFailure({ ...base, records: batch(100) }, s);
    expect(d.dropped).toEqual([]);
    expect(d.bisect).toEqual({ cap: 50, suspectEnd: 99n });
    expect(d.nextRetry).toBeUndefined();
    const single = decideLaneFailure({ ...base, records: [rec(37)] }, s);
    expect(single.dropped.map((x) => x.reason)).toEqual(['RetriesExhausted']);
  });

  it('gives up the expired prefix (RecordAgeExceeded) and retries the rest', () => {
    const s = { ...infinite, maximumRecordAgeMs: 60_000 };
    const records = [rec(0, 0), rec(1, 0), rec(2, 990_000)];
    const d = decideLaneFailure({ ...base, records }, s);
    expect(d.dropped.map((x) => [x.record.id, x.reason])).toEqual([
      ['t-0@0', 'RecordAgeExceeded'],
      ['t-0@1', 'RecordAgeExceeded'],
    ]);
    expect(d.retry.map((r) => r.id)).toEqual(['t-0@2']);
  });

  it('round-trips retry state through offset commit metadata; foreign metadata is ignored', () => {
    const state = { offset: 12345678901234n, attempts: 4, firstFailureMs: 17 };
    const text = encodeRetryMetadata(state);
    expect(text?.length).toBeLessThan(200);
    expect(decodeRetryMetadata(text)).toEqual(state);
    expect(encodeRetryMetadata(undefined)).toBeNull();
    for (const other of [
      null,
      '',
      'some other tool',
      'sluice/1 {bad',
      'sluice/1 {"o":"x","a":1}',
    ]) {
      expect(decodeRetryMetadata(other)).toBeUndefined();
    }
  });

  it('backs off exponentially, capped', () => {
    expect([0, 1, 2, 3, 10].map((a) => retryDelayMs(a, 100, 1000))).toEqual([
      0, 100, 200, 400, 1000,
    ]);
  });

  it('builds the reference failure record with the one-record payload', () => {
    const record = rec(7);
    const body = buildFailureRecord({
      requestId: 'r-1',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
      reason: 'RetriesExhausted',
      approximateInvokeCount: 3,
      functionError: true,
      bootstrapServers: 'b:9092',
      record,
      payload: { eventSource: 'SelfManagedKafka' },
      nowMs: 0,
    });
    expect(body).toEqual({
      requestContext: {
        requestId: 'r-1',
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 3,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: '1970-01-01T00:00:00.000Z',
      KafkaBatchInfo: {
        batchSize: 1,
        bootstrapServers: 'b:9092',
        payloadSize: record.sizeBytes,
        recordsInfo: {
          't-0': {
            firstRecordOffset: '7',
            lastRecordOffset: '7',
            firstRecordTimestamp: '1970-01-01T00:16:40.000Z',
            lastRecordTimestamp: '1970-01-01T00:16:40.000Z',
          },
        },
      },
      payload: { eventSource: 'SelfManagedKafka' },
    });
    const oversized = buildFailureRecord({
      requestId: 'r-2',
      functionArn: 'a',
      reason: 'MaximumPayloadSizeExceeded',
      approximateInvokeCount: 0,
      functionError: false,
      bootstrapServers: 'b:9092',
      record,
      payload: {},
      nowMs: 0,
    });
    expect(oversized).toMatchObject({
      requestContext: { condition: 'MaximumPayloadSizeExceeded' },
      responseContext: null,
    });
  });
});
