import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { tokensEqual } from './auth.ts';
import { readBody, sendEmpty, sendJson } from './http-util.ts';
import { LambdaApiError, toLambdaApiError } from './lambda-errors.ts';
import type { TriggerConfig } from '../config/types.ts';
import { mismatchReason } from '../triggers/s3-event-match.ts';
import { parseS3Notification, S3NotificationError } from '../triggers/s3-notification.ts';
import type { AsyncInvokeQueue } from '../lambda/async-invocation.ts';
import type { S3TriggerIntake } from '../triggers/s3-trigger-intake.ts';
import type { TriggerMetrics, TriggerRejectReason } from '../triggers/trigger-metrics.ts';

/**
 * Largest push accepted: Lambda's async payload limit. One S3 record is ~1 KB, so this is room
 * for hundreds of records per push; MinIO sends one record per request.
 */
export const TRIGGER_BODY_LIMIT_BYTES = 1024 * 1024;

export interface S3TriggerRouteDeps {
  trigger: Pick<
    TriggerConfig,
    'name' | 'authToken' | 'events' | 'filter' | 'maxQueueDepth' | 'functionName'
  >;
  intake: S3TriggerIntake;
  queue: Pick<AsyncInvokeQueue, 'depth'>;
  metrics: TriggerMetrics;
  logger: Logger;
  /** Default {@link TRIGGER_BODY_LIMIT_BYTES}. */
  bodyLimitBytes?: number;
}

const REASONS: Partial<Record<string, TriggerRejectReason>> = {
  UnauthorizedException: 'unauthorized',
  RequestTooLargeException: 'too_large',
  InvalidRequestContentException: 'malformed',
  TooManyRequestsException: 'throttled',
};

/**
 * POST <trigger path>: token → body (size-limited) → parse → back-pressure → durable enqueue of
 * every matching record → 200 `{queued, duplicates, filtered}`. Any failure before the answer
 * means the pusher retries the whole push; records already queued come back as duplicates.
 */
export async function handleS3Push(
  deps: S3TriggerRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const labels = { trigger: deps.trigger.name };
  try {
    checkToken(req, deps.trigger.authToken);
    const notification = parseS3Notification(await readJsonBody(req, deps.bodyLimitBytes));
    if (notification.kind === 'test') {
      deps.metrics.testEvents.inc(labels);
      sendJson(res, 200, { testEvent: true });
      return;
    }
    const { records } = notification;
    const anyMatch = records.some(
      (r) => mismatchReason(deps.trigger, r.eventName, r.object.key) === undefined,
    );
    if (anyMatch) await checkDepth(deps);
    const result = await deps.intake.accept(records);
    deps.logger.debug({ trigger: deps.trigger.name, ...result }, 'push accepted');
    sendJson(res, 200, result);
  } catch (err) {
    const apiError = toLambdaApiError(asRequestError(err));
    deps.metrics.rejected.inc({ ...labels, reason: REASONS[apiError.errorName] ?? 'error' });
    throw apiError;
  }
}

/** HEAD <trigger path>: MinIO probes a webhook endpoint this way before sending. */
export function handleS3Probe(
  deps: Pick<S3TriggerRouteDeps, 'trigger'>,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  checkToken(req, deps.trigger.authToken);
  sendEmpty(res, 200);
}

/**
 * The pusher's bearer token, compared in constant time (digests, so neither content nor length
 * leaks). One answer for a missing, malformed or wrong token: nothing to learn from the 401.
 */
function checkToken(req: IncomingMessage, expected: string | undefined): void {
  if (expected === undefined) return;
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  if (!tokensEqual(given, expected) || given === '') {
    throw new LambdaApiError(
      'UnauthorizedException',
      'Unauthorized',
      {},
      {
        'WWW-Authenticate': 'Bearer',
      },
    );
  }
}

async function readJsonBody(req: IncomingMessage, limit = TRIGGER_BODY_LIMIT_BYTES) {
  let body: Buffer;
  try {
    body = await readBody(req, limit);
  } catch (err) {
    if (err instanceof LambdaApiError && err.errorName === 'RequestTooLargeException') {
      throw new LambdaApiError(
        'RequestTooLargeException',
        `Notification body must be at most ${limit} bytes`,
        {},
        err.headers,
      );
    }
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new LambdaApiError(
      'InvalidRequestContentException',
      `Body is not JSON: ${(err as Error).message}`,
    );
  }
  return parsed;
}

async function checkDepth(deps: S3TriggerRouteDeps): Promise<void> {
  const depth = await deps.queue.depth();
  if (depth < deps.trigger.maxQueueDepth) return;
  throw new LambdaApiError(
    'TooManyRequestsException',
    `The asynchronous invocation queue holds ${depth} events (limit ${deps.trigger.maxQueueDepth}); retry later.`,
    { Reason: 'ConcurrentInvocationLimitExceeded' },
    { 'Retry-After': '1' },
  );
}

/** Turns parse errors into 400s naming the field (other errors pass through unchanged). */
function asRequestError(err: unknown): unknown {
  return err instanceof S3NotificationError
    ? new LambdaApiError('InvalidRequestContentException', err.message)
    : err;
}
