import type { InvokeResult } from '../invoker/types.ts';
import type { BatchVerdict, SourceRecord } from '../connectors/types.ts';

// The verdict is part of the connector seam (a connector's failure policy reads it).
export type { BatchVerdict };

export interface VerdictOptions {
  reportBatchItemFailures: boolean;
  /** FIFO / ordered lanes: stop at the first failure and fail everything after it in its lane. */
  ordered: boolean;
  /**
   * Turns an `itemIdentifier` into a record id. SQS: the messageId string itself. Kafka:
   * `{partition, offset}`. Returns undefined for a malformed identifier.
   */
  identify?: (itemIdentifier: unknown) => string | undefined;
}

const defaultIdentify = (item: unknown): string | undefined =>
  typeof item === 'string' && item.length > 0 ? item : undefined;

/**
 * Lambda's result rules: a function error or timeout fails the whole batch. With
 * ReportBatchItemFailures, `{"batchItemFailures":[{"itemIdentifier":…}]}` fails only those
 * records; an empty/null response or an empty list is full success; invalid JSON, a missing or
 * empty identifier, or an identifier not in the batch fails the whole batch. Ordered lanes stop at
 * the first failure: that record and every later record of the same lane fail.
 */
export function judgeBatch(
  records: readonly SourceRecord[],
  result: InvokeResult,
  options: VerdictOptions,
): BatchVerdict {
  if (!result.ok) {
    return {
      succeeded: [],
      failed: [...records],
      functionError: true,
      reason: `${result.error.errorType}: ${result.error.errorMessage}`,
    };
  }
  if (!options.reportBatchItemFailures)
    return { succeeded: [...records], failed: [], functionError: false };

  const failedIds = parseBatchItemFailures(result.payload, options.identify ?? defaultIdentify);
  if (failedIds instanceof Error) {
    return { succeeded: [], failed: [...records], functionError: false, reason: failedIds.message };
  }
  const known = new Set(records.map((r) => r.id));
  for (const id of failedIds) {
    if (!known.has(id)) {
      return {
        succeeded: [],
        failed: [...records],
        functionError: false,
        reason: `batchItemFailures names ${JSON.stringify(id)}, which is not in the batch`,
      };
    }
  }
  if (failedIds.size === 0) return { succeeded: [...records], failed: [], functionError: false };

  const succeeded: SourceRecord[] = [];
  const failed: SourceRecord[] = [];
  const stoppedLanes = new Set<string>();
  for (const record of records) {
    const isFailed = failedIds.has(record.id) || (options.ordered && stoppedLanes.has(record.lane));
    if (isFailed) {
      failed.push(record);
      if (options.ordered) stoppedLanes.add(record.lane);
    } else succeeded.push(record);
  }
  return {
    succeeded,
    failed,
    functionError: false,
    reason: `${failed.length} of ${records.length} records reported as failed`,
  };
}

/** Returns the failed ids, or an Error when the response must fail the whole batch. */
export function parseBatchItemFailures(
  payload: Buffer,
  identify: (itemIdentifier: unknown) => string | undefined,
): Set<string> | Error {
  const text = payload.toString('utf8').trim();
  if (text === '' || text === 'null') return new Set();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return new Error(
      'function response is not valid JSON; ReportBatchItemFailures fails the whole batch',
    );
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return new Error('function response is not an object with batchItemFailures');
  }
  const list = (body as { batchItemFailures?: unknown }).batchItemFailures;
  if (list === undefined || list === null) return new Set();
  if (!Array.isArray(list)) return new Error('batchItemFailures is not a list');
  const ids = new Set<string>();
  for (const entry of list) {
    const item =
      entry !== null && typeof entry === 'object'
        ? (entry as { itemIdentifier?: unknown }).itemIdentifier
        : undefined;
    const id = identify(item);
    if (id === undefined) {
      return new Error(
        `batchItemFailures has an empty or malformed itemIdentifier: ${JSON.stringify(item ?? null)}`,
      );
    }
    ids.add(id);
  }
  return ids;
}
