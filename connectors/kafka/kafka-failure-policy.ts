/**
 * Kafka's error controls as pure decisions (Lambda's provisioned-mode contract):
 *
 * - Default (no retry settings): a failing batch is retried until it succeeds; its partition is
 *   blocked (nothing committed past it) while the other partitions flow.
 * - `maximumRecordAgeMs`: failed records older than this are given up (`RecordAgeExceeded`).
 * - `bisectBatchOnFunctionError`: a batch that failed with a function error is retried as its first
 *   half, then the rest, down to single records. Splitting does not count as a retry (as on AWS).
 * - `maximumRetryAttempts`: a batch is retried this many times after its first failure; then its
 *   records are given up (`RetryAttemptsExhausted`). With ReportBatchItemFailures only the reported
 *   record (the head of the failed range) is given up; the records after it get a fresh count.
 *
 * Attempts are counted per partition for the record heading the failed range. That count lives in
 * the partition's committed offset metadata (see `encodeRetryMetadata`), written with every failure:
 * the committed offset *is* that record, so whoever owns the partition next — this process after a
 * restart, or another process after a rebalance or a crash — reads the count with the offset and
 * continues it. Nothing lives only in memory or only on one machine (unlike a local store, which a
 * process taking over a partition from another machine could not read).
 */
import type { DropReason, SourceRecord } from '../../src/connectors/types.ts';
import { kafkaHandleOf } from './kafka-event.ts';
import type { BisectState, RetryState } from './offset-tracker.ts';

export interface KafkaRetrySettings {
  /** Retries after the first failure; `Infinity` = until success or expiry (Lambda's −1). */
  maximumRetryAttempts: number;
  /** `Infinity` = records never expire (Lambda's −1). */
  maximumRecordAgeMs: number;
  bisectBatchOnFunctionError: boolean;
}

export interface LaneFailure {
  /** The failed records of one partition, in offset order. */
  records: readonly SourceRecord[];
  /** The partition's retry state before this failure. */
  retry: RetryState | undefined;
  /** The whole batch failed because of the function (error, timeout), not a reported item. */
  functionError: boolean;
  nowMs: number;
}

export interface LaneDecision {
  retry: SourceRecord[];
  dropped: { record: SourceRecord; reason: DropReason; attempts: number }[];
  /** Retry state for the head of `retry` (undefined when nothing is retried). */
  nextRetry: RetryState | undefined;
  /** Set when the retried records go out as a smaller batch. */
  bisect: BisectState | undefined;
}

export function decideLaneFailure(f: LaneFailure, s: KafkaRetrySettings): LaneDecision {
  const dropped: LaneDecision['dropped'] = [];
  const priorFor = (record: SourceRecord | undefined): number =>
    record && f.retry && f.retry.offset === kafkaHandleOf(record).offset ? f.retry.attempts : 0;

  // Too old: give up the expired prefix (a prefix, so commits stay contiguous).
  const rest = [...f.records];
  if (Number.isFinite(s.maximumRecordAgeMs)) {
    while (rest[0] && f.nowMs - rest[0].timestampMs > s.maximumRecordAgeMs) {
      const record = rest.shift() as SourceRecord;
      dropped.push({ record, reason: 'RecordAgeExceeded', attempts: priorFor(record) + 1 });
    }
  }
  const head = rest[0];
  if (!head) return { retry: [], dropped, nextRetry: undefined, bisect: undefined };
  const headOffset = kafkaHandleOf(head).offset;
  const prior = priorFor(head);
  const firstFailureMs = prior > 0 && f.retry ? f.retry.firstFailureMs : f.nowMs;

  if (s.bisectBatchOnFunctionError && f.functionError && rest.length > 1) {
    const last = rest[rest.length - 1] as SourceRecord;
    return {
      retry: rest,
      dropped,
      // Bisecting is not a retry: the head keeps its count.
      nextRetry: prior > 0 ? { offset: headOffset, attempts: prior, firstFailureMs } : undefined,
      bisect: { cap: Math.ceil(rest.length / 2), suspectEnd: kafkaHandleOf(last).offset },
    };
  }

  const attempts = prior + 1;
  if (attempts <= s.maximumRetryAttempts) {
    return {
      retry: rest,
      dropped,
      nextRetry: { offset: headOffset, attempts, firstFailureMs },
      bisect: undefined,
    };
  }
  // Exhausted. A function error condemns the batch (bisection, when on, has already narrowed it to
  // one record); a reported failure condemns only the reported record, the head.
  const condemned = f.functionError ? rest : [head];
  for (const record of condemned) dropped.push({ record, reason: 'RetriesExhausted', attempts });
  const retry = f.functionError ? [] : rest.slice(1);
  return { retry, dropped, nextRetry: undefined, bisect: undefined };
}

/**
 * Exponential back-off before a failed partition is handed out again: `baseMs · 2^(attempts−1)`,
 * capped. Bisection steps (attempts unchanged) are not delayed.
 */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number): number {
  if (attempts <= 0 || baseMs <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(attempts - 1, 20));
}

const METADATA_PREFIX = 'sluice/1 ';

/**
 * Offset commit metadata carrying the retry state of the committed record. Kafka stores it with
 * the offset (up to `offset.metadata.max.bytes`, 4096 by default; this is ~60 bytes).
 */
export function encodeRetryMetadata(retry: RetryState | undefined): string | null {
  if (!retry) return null;
  return (
    METADATA_PREFIX +
    JSON.stringify({ o: retry.offset.toString(), a: retry.attempts, t: retry.firstFailureMs })
  );
}

/** Reads what `encodeRetryMetadata` wrote; other tools' metadata (or none) gives undefined. */
export function decodeRetryMetadata(metadata: string | null | undefined): RetryState | undefined {
  if (!metadata?.startsWith(METADATA_PREFIX)) return undefined;
  try {
    const parsed = JSON.parse(metadata.slice(METADATA_PREFIX.length)) as {
      o?: unknown;
      a?: unknown;
      t?: unknown;
    };
    if (typeof parsed.o !== 'string' || !/^\d+$/.test(parsed.o)) return undefined;
    if (typeof parsed.a !== 'number' || !Number.isInteger(parsed.a) || parsed.a < 0) {
      return undefined;
    }
    const t = typeof parsed.t === 'number' ? parsed.t : 0;
    return { offset: BigInt(parsed.o), attempts: parsed.a, firstFailureMs: t };
  } catch {
    return undefined;
  }
}

/** Lambda's `condition` in the failure record. */
export function conditionOf(reason: DropReason): string {
  switch (reason) {
    case 'MaximumPayloadSizeExceeded':
      return 'MaximumPayloadSizeExceeded';
    case 'RecordAgeExceeded':
      return 'RecordAgeExceeded';
    case 'RetriesExhausted':
    case 'Malformed':
      return 'RetryAttemptsExhausted';
  }
}

export interface FailureRecordInput {
  requestId: string;
  functionArn: string;
  reason: DropReason;
  /** Invokes the record went through (0 for a record never invoked). */
  approximateInvokeCount: number;
  functionError: boolean;
  bootstrapServers: string;
  record: SourceRecord;
  /** The one-record `SelfManagedKafka` event. */
  /** The one-record event; undefined leaves `payload` out (oversized records, see the sink). */
  payload: unknown;
  nowMs: number;
}

/** The reference's failure record for one given-up record, with `payload` = its event. */
export function buildFailureRecord(i: FailureRecordInput): Record<string, unknown> {
  const h = kafkaHandleOf(i.record);
  const at = new Date(i.record.timestampMs).toISOString();
  const invoked = i.approximateInvokeCount > 0 && i.reason !== 'MaximumPayloadSizeExceeded';
  return {
    requestContext: {
      requestId: i.requestId,
      functionArn: i.functionArn,
      condition: conditionOf(i.reason),
      approximateInvokeCount: i.approximateInvokeCount,
    },
    responseContext: invoked
      ? {
          statusCode: 200,
          executedVersion: '$LATEST',
          ...(i.functionError ? { functionError: 'Unhandled' } : {}),
        }
      : null,
    version: '1.0',
    timestamp: new Date(i.nowMs).toISOString(),
    KafkaBatchInfo: {
      batchSize: 1,
      bootstrapServers: i.bootstrapServers,
      payloadSize: i.record.sizeBytes,
      recordsInfo: {
        [i.record.lane]: {
          firstRecordOffset: h.offset.toString(),
          lastRecordOffset: h.offset.toString(),
          firstRecordTimestamp: at,
          lastRecordTimestamp: at,
        },
      },
    },
    ...(i.payload === undefined ? {} : { payload: i.payload }),
  };
}
