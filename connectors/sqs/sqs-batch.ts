/**
 * DeleteMessageBatch / ChangeMessageVisibilityBatch in chunks of 10, with retries. Never throws:
 * a delete that fails means a duplicate later, a visibility change that fails means the record
 * returns after its timeout — neither loses a record, so the caller logs and moves on.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type BatchResultErrorEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { translateSqsError, type TranslatedSqsError } from './sqs-errors.ts';
import { chunks } from './sqs-visibility.ts';

export type BatchOperation = 'DeleteMessageBatch' | 'ChangeMessageVisibilityBatch';

export interface BatchEntry {
  receiptHandle: string;
  /** ChangeMessageVisibilityBatch only. */
  visibilitySeconds?: number;
}

export interface BatchTarget {
  client: SQSClient;
  queueUrl: string;
  logger: Logger;
  /** Tries per chunk for retryable failures (network, throttling, server-side entries). */
  attempts: number;
  /** Told about whole-request failures (for the connector's health). */
  onError?: (translated: TranslatedSqsError) => void;
  /**
   * Each request is given up after this (a TimeoutError: retryable, EVENT_SOURCE_UNREACHABLE),
   * so a hung endpoint cannot hold a batch's settle forever. Undefined = no limit.
   */
  requestTimeoutMs?: number;
}

const RETRY_DELAY_MS = 100;

export async function runBatch(
  target: BatchTarget,
  operation: BatchOperation,
  entries: readonly BatchEntry[],
): Promise<void> {
  await Promise.all(chunks(entries).map((chunk) => runChunk(target, operation, chunk)));
}

async function runChunk(
  target: BatchTarget,
  operation: BatchOperation,
  chunk: BatchEntry[],
): Promise<void> {
  const attempts = Math.max(1, target.attempts);
  let pending = chunk;
  for (let attempt = 1; pending.length > 0; attempt++) {
    let failed: BatchResultErrorEntry[];
    try {
      failed = await send(target, operation, pending);
    } catch (error) {
      const translated = translateSqsError(error, operation, target.queueUrl);
      target.onError?.(translated);
      if (!translated.error.canRetry || attempt >= attempts) {
        target.logger.warn(
          { err: translated.error, entries: pending.length },
          `${operation} failed`,
        );
        return;
      }
      await sleep(RETRY_DELAY_MS * attempt);
      continue;
    }
    const retry: BatchEntry[] = [];
    for (const entry of failed) {
      const original = pending[Number(entry.Id)];
      if (!original) continue;
      if (!entry.SenderFault && attempt < attempts) retry.push(original);
      else logEntryFailure(target.logger, operation, entry);
    }
    pending = retry;
    if (pending.length > 0) await sleep(RETRY_DELAY_MS * attempt);
  }
}

async function send(
  target: BatchTarget,
  operation: BatchOperation,
  entries: BatchEntry[],
): Promise<BatchResultErrorEntry[]> {
  // Entry ids are indexes: they must be unique per request and match [A-Za-z0-9_-]{1,80}.
  const options =
    target.requestTimeoutMs === undefined
      ? {}
      : { abortSignal: AbortSignal.timeout(target.requestTimeoutMs) };
  if (operation === 'DeleteMessageBatch') {
    const out = await target.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: target.queueUrl,
        Entries: entries.map((entry, i) => ({ Id: String(i), ReceiptHandle: entry.receiptHandle })),
      }),
      options,
    );
    return out.Failed ?? [];
  }
  const out = await target.client.send(
    new ChangeMessageVisibilityBatchCommand({
      QueueUrl: target.queueUrl,
      Entries: entries.map((entry, i) => ({
        Id: String(i),
        ReceiptHandle: entry.receiptHandle,
        VisibilityTimeout: entry.visibilitySeconds ?? 0,
      })),
    }),
    options,
  );
  return out.Failed ?? [];
}

function logEntryFailure(logger: Logger, operation: BatchOperation, entry: BatchResultErrorEntry) {
  // A stale receipt handle is what a record settled after its visibility ran out (or after a
  // crash) looks like: expected, the record is simply delivered again.
  const expected = entry.Code === 'ReceiptHandleIsInvalid' || entry.Code === 'MessageNotInflight';
  const fields = { operation, code: entry.Code, detail: entry.Message };
  if (expected) logger.debug(fields, 'SQS batch entry not applied');
  else logger.warn(fields, 'SQS batch entry failed');
}
