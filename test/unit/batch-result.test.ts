import { describe, expect, it } from 'vitest';
import type { SourceRecord } from '../../src/connectors/types.ts';
import { judgeBatch } from '../../src/engine/batch-result.ts';
import type { InvokeResult } from '../../src/invoker/types.ts';

const rec = (id: string, lane = ''): SourceRecord => ({
  id,
  lane,
  event: { id },
  sizeBytes: 10,
  timestampMs: 0,
  handle: id,
});
const report = { durationMs: 1, billedDurationMs: 1, memorySizeMb: 128, maxMemoryUsedMb: 1 };
const ok = (body: unknown): InvokeResult => ({
  ok: true,
  requestId: 'r',
  payload: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  report,
  logTail: '',
});
const failed: InvokeResult = {
  ok: false,
  requestId: 'r',
  functionError: 'Unhandled',
  error: { errorType: 'Error', errorMessage: 'boom' },
  payload: Buffer.from('{}'),
  report,
  logTail: '',
};
const batch = [rec('a', 'g1'), rec('b', 'g2'), rec('c', 'g1'), rec('d', 'g2')];
const ids = (rs: SourceRecord[]) => rs.map((r) => r.id);
const partial = { reportBatchItemFailures: true, ordered: false };

describe('judgeBatch (Lambda result rules)', () => {
  it('fails the whole batch on a function error, with or without ReportBatchItemFailures', () => {
    expect(ids(judgeBatch(batch, failed, partial).failed)).toEqual(['a', 'b', 'c', 'd']);
    expect(
      judgeBatch(batch, failed, { reportBatchItemFailures: false, ordered: false }).functionError,
    ).toBe(true);
  });

  it('ignores the response body when ReportBatchItemFailures is off', () => {
    const v = judgeBatch(batch, ok({ batchItemFailures: [{ itemIdentifier: 'a' }] }), {
      reportBatchItemFailures: false,
      ordered: false,
    });
    expect(ids(v.succeeded)).toEqual(['a', 'b', 'c', 'd']);
  });

  it.each([
    ['empty body', ''],
    ['null', 'null'],
    ['empty list', { batchItemFailures: [] }],
    ['no list', { other: 1 }],
    ['null list', { batchItemFailures: null }],
  ])('treats %s as full success', (_name, body) => {
    expect(ids(judgeBatch(batch, ok(body), partial).succeeded)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('fails only the reported records', () => {
    const v = judgeBatch(
      batch,
      ok({ batchItemFailures: [{ itemIdentifier: 'b' }, { itemIdentifier: 'c' }] }),
      partial,
    );
    expect(ids(v.failed)).toEqual(['b', 'c']);
    expect(ids(v.succeeded)).toEqual(['a', 'd']);
    expect(v.functionError).toBe(false);
  });

  it.each([
    ['invalid JSON', '{"batchItemFailures": ['],
    ['a list that is not a list', { batchItemFailures: 'a' }],
    ['an empty identifier', { batchItemFailures: [{ itemIdentifier: '' }] }],
    ['a null identifier', { batchItemFailures: [{ itemIdentifier: null }] }],
    ['a missing identifier', { batchItemFailures: [{}] }],
    ['an unknown identifier', { batchItemFailures: [{ itemIdentifier: 'zzz' }] }],
    ['a non-object body', '"text"'],
  ])('fails the whole batch for %s', (_name, body) => {
    const v = judgeBatch(batch, ok(body), partial);
    expect(ids(v.failed)).toEqual(['a', 'b', 'c', 'd']);
    expect(v.reason).toBeTruthy();
  });

  it('ordered lanes stop at the first failure: later records of that lane fail too', () => {
    const v = judgeBatch(batch, ok({ batchItemFailures: [{ itemIdentifier: 'a' }] }), {
      reportBatchItemFailures: true,
      ordered: true,
    });
    expect(ids(v.failed)).toEqual(['a', 'c']);
    expect(ids(v.succeeded)).toEqual(['b', 'd']);
  });

  it('accepts structured identifiers through a custom identify (Kafka)', () => {
    const kafka = [rec('t-0@5'), rec('t-0@6')];
    const identify = (item: unknown) => {
      const i = item as { partition?: string; offset?: number } | undefined;
      return i?.partition && typeof i.offset === 'number'
        ? `${i.partition}@${i.offset}`
        : undefined;
    };
    const v = judgeBatch(
      kafka,
      ok({ batchItemFailures: [{ itemIdentifier: { partition: 't-0', offset: 6 } }] }),
      { ...partial, identify },
    );
    expect(ids(v.failed)).toEqual(['t-0@6']);
  });
});
