/**
 * Pure sizing decisions of the SQS connector: long-poll wait, receive size, heartbeat cadence,
 * failed-record visibility, request timeouts. Kept apart from the I/O so each rule is unit-tested on its own.
 */

/** SQS's own limits. */
export const MAX_RECEIVE_MESSAGES = 10;
export const MAX_WAIT_TIME_SECONDS = 20;
export const MAX_BATCH_ENTRIES = 10;
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/** MaxNumberOfMessages for a fetch of `max` records: 1–10, or 0 = do not receive. */
export function receiveSize(max: number): number {
  if (!Number.isFinite(max) || max < 1) return 0;
  return Math.min(Math.floor(max), MAX_RECEIVE_MESSAGES);
}

/**
 * WaitTimeSeconds for a fetch that may wait `waitMs`. Rounded up: SQS counts whole seconds, and a
 * sub-second wait rounded down would be a short poll, which on real SQS samples only some servers
 * and can answer empty while messages wait. The caller's abort signal cuts a long poll short.
 */
export function waitTimeSeconds(waitMs: number): number {
  if (!Number.isFinite(waitMs) || waitMs <= 0) return 0;
  return Math.min(Math.ceil(waitMs / 1000), MAX_WAIT_TIME_SECONDS);
}

/**
 * How often to extend the visibility of a running batch, from the queue's real VisibilityTimeout
 * (peers.md lesson 6): every third of it, so two heartbeats can be late or fail before a record
 * shows up again. Undefined when the timeout is 0 (nothing to keep reserved).
 */
export function heartbeatIntervalMs(visibilityTimeoutSeconds: number): number | undefined {
  if (!(visibilityTimeoutSeconds > 0)) return undefined;
  return Math.max(1, Math.floor((visibilityTimeoutSeconds * 1000) / 3));
}

/**
 * Failed records' new visibility, in whole seconds (SQS's unit, rounded up so a backoff is never
 * shortened). `backoff` is a fixed delay or a function of the delivery's receive count (1 = first
 * delivery), e.g. for exponential backoff.
 */
export type FailedVisibility = number | ((receiveCount: number) => number);

/**
 * What a failed record's visibility becomes: undefined = left alone, so it comes back when the
 * queue's visibility timeout expires — Lambda's retry timing, and what makes maxReceiveCount mean
 * "tried N times over N visibility timeouts" rather than N times in a few milliseconds. A
 * configured backoff (`source.retryBackoff`, or 0 for "at once") is the opt-in.
 */
export function failedRecordVisibilitySeconds(
  backoff: FailedVisibility | undefined,
  receiveCount: number,
): number | undefined {
  return backoff === undefined ? undefined : failedVisibilitySeconds(backoff, receiveCount);
}

export function failedVisibilitySeconds(backoff: FailedVisibility, receiveCount: number): number {
  const ms = typeof backoff === 'function' ? backoff(receiveCount) : backoff;
  if (!Number.isFinite(ms) || ms <= 0) return 0;
  return Math.min(Math.ceil(ms / 1000), MAX_VISIBILITY_TIMEOUT_SECONDS);
}

/**
 * `source.retryBackoff`: `baseMs` after the first failed delivery, doubling with each further
 * receive, at most `maximumMs`. The receive count comes from SQS (ApproximateReceiveCount), so
 * the backoff carries over restarts and other consumers.
 */
export function exponentialBackoff(baseMs: number, maximumMs: number): FailedVisibility {
  return (receiveCount) =>
    Math.min(maximumMs, baseMs * 2 ** Math.min(Math.max(0, receiveCount - 1), 30));
}

/** Splits into SQS batch-request sized chunks (10 entries). */
export function chunks<T>(items: readonly T[], size = MAX_BATCH_ENTRIES): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A long poll is given up this long after its WaitTimeSeconds (`receiveTimeoutMarginMs`). */
export const DEFAULT_RECEIVE_TIMEOUT_MARGIN_MS = 10_000;
/** Short polls and the connector's other requests are given up after this (`requestTimeoutMs`). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5_000;

/**
 * How long a receive may go unanswered before the endpoint counts as hung: the long poll itself
 * plus a margin (a healthy broker answers a long poll at WaitTimeSeconds at the latest), or the
 * request timeout for a short poll.
 */
export function receiveTimeoutMs(
  waitSeconds: number,
  timeouts: { receiveTimeoutMarginMs: number; requestTimeoutMs: number },
): number {
  return waitSeconds > 0
    ? waitSeconds * 1000 + timeouts.receiveTimeoutMarginMs
    : timeouts.requestTimeoutMs;
}
