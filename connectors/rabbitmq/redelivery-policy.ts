/**
 * Bounded redelivery for RabbitMQ, as pure decisions (the connector does the I/O):
 *
 * - **Counting** — durable, with the message: a quorum queue counts returns itself
 *   (`x-delivery-count`); a classic queue forgets, so a failed delivery is *republished* as a copy
 *   carrying `x-sluice-delivery-count` = failures so far (publisher confirm first, then the original
 *   is acked: a crash in between leaves a duplicate, never a loss).
 * - **Retry method** — `requeue` (nack, requeue) keeps the message's place in the queue; `republish`
 *   moves it to the tail. Requeue whenever the count is not needed (infinite retries, Lambda's
 *   behaviour) or the broker keeps it (quorum queues). The trade-off to document: on a classic
 *   queue with finite retries a retried message loses its place, so an ordered mapping that needs
 *   order across retries should use a quorum queue.
 * - **Exhaustion** — after `maximumRetryAttempts` retries (so `maximumRetryAttempts + 1`
 *   deliveries reached the function) the record is dropped with `RetriesExhausted`.
 * - **Dead-letter route** — the queue's own dead-letter exchange (nack without requeue) when the
 *   queue is known to have one; else the mapping's onFailure destination; else a parking queue
 *   `<queue>.sluice-dead-letter` the connector declares. Never a hot loop, never a silent drop:
 *   a nack without requeue on a queue with no DLX would discard the message, so it is used only
 *   when a DLX is known to exist.
 */
import type { DropReason, SettleOutcome, SourceRecord } from '../../src/connectors/types.ts';
import { rmqHandleOf } from './rmq-event.ts';

export type QueueType = 'classic' | 'quorum' | 'stream' | 'unknown';
export type RetryMethod = 'requeue' | 'republish';
export type DeadLetterRoute = 'dlx' | 'destination' | 'parking';

/** Deliveries of this record that reached the function, including the current one. */
export function attemptOf(record: SourceRecord): number {
  return rmqHandleOf(record).attemptsBefore + 1;
}

/**
 * The `FailurePolicy` decision: records whose retries are used up are dropped, the rest go back.
 * `maximumRetryAttempts` = `Infinity` retries forever (Lambda).
 */
export function decideFailures(
  failed: readonly SourceRecord[],
  maximumRetryAttempts: number,
): Pick<SettleOutcome, 'failed' | 'dropped'> {
  const out: Pick<SettleOutcome, 'failed' | 'dropped'> = { failed: [], dropped: [] };
  for (const record of failed) {
    const attempt = attemptOf(record);
    if (attempt > maximumRetryAttempts) {
      out.dropped.push({
        record,
        reason: 'RetriesExhausted',
        detail: `failed ${attempt} deliveries (maximumRetryAttempts ${maximumRetryAttempts})`,
      });
    } else out.failed.push(record);
  }
  return out;
}

/** How a failed record goes back to the queue. */
export function retryMethod(input: {
  maximumRetryAttempts: number;
  queueType: QueueType;
  /** The delivery carries `x-delivery-count`: it came from a quorum queue. */
  hasQuorumCount: boolean;
}): RetryMethod {
  if (!Number.isFinite(input.maximumRetryAttempts)) return 'requeue';
  if (input.queueType === 'quorum' || input.hasQuorumCount) return 'requeue';
  return 'republish';
}

/** Where a dropped record goes. */
export function deadLetterRoute(input: {
  /** True only when the queue is known (management API) to have a dead-letter exchange. */
  queueHasDlx: boolean;
  hasDestination: boolean;
}): DeadLetterRoute {
  if (input.queueHasDlx) return 'dlx';
  return input.hasDestination ? 'destination' : 'parking';
}

/** The parking queue of a source queue (declared durable by the connector when first needed). */
export function parkingQueueName(queue: string): string {
  return `${queue}.sluice-dead-letter`;
}

/** Lambda's failure condition for a drop reason. */
export function failureCondition(reason: DropReason): string {
  switch (reason) {
    case 'RetriesExhausted':
      return 'RetryAttemptsExhausted';
    case 'MaximumPayloadSizeExceeded':
      return 'MaximumPayloadSizeExceeded';
    case 'RecordAgeExceeded':
      return 'RecordAgeExceeded';
    case 'Malformed':
      return 'Malformed';
  }
}

export interface FailureRecordInput {
  record: SourceRecord;
  reason: DropReason;
  detail: string | undefined;
  functionArn: string;
  eventSourceArn: string;
  queue: string;
  virtualHost: string;
  nowMs: number;
  /** The one-record `aws:rmq` event (the payload the function would get). */
  payload: unknown;
}

/**
 * The body sent to an onFailure destination: Lambda's invocation-record shape (as for Kafka), with
 * `RmqMessageInfo` for the source and `payload` = the one-record event, so a consumer of the
 * destination can replay it into the function as is.
 */
export function failureRecord(input: FailureRecordInput): Record<string, unknown> {
  const attempt = attemptOf(input.record);
  return {
    requestContext: {
      functionArn: input.functionArn,
      condition: failureCondition(input.reason),
      approximateInvokeCount: input.reason === 'RetriesExhausted' ? attempt : 0,
    },
    responseContext: null,
    version: '1.0',
    timestamp: new Date(input.nowMs).toISOString(),
    RmqMessageInfo: {
      eventSourceArn: input.eventSourceArn,
      queue: input.queue,
      virtualHost: input.virtualHost,
      messageId: input.record.id,
      reason: input.reason,
      ...(input.detail ? { detail: input.detail } : {}),
    },
    payload: input.payload,
  };
}
