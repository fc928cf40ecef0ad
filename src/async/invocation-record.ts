import type { InvocationCondition } from './retry-policy.ts';

/**
 * The invocation record Lambda sends to an onSuccess / onFailure destination, and the message it
 * sends to a dead-letter queue. Pure builders: the worker passes the time in.
 */

/** What an attempt answered, kept on the queue row so a later failure can still report it. */
export interface AttemptResponse {
  /** 200 when the function ran (even if it failed), 429 throttled, 500 engine error. */
  statusCode: number;
  /** Lambda's X-Amz-Function-Error, set when the function itself failed. */
  functionError?: 'Unhandled' | 'Handled';
  /** The response or error body as text. */
  payload: string;
  /** For failures: the error type and message (the dead-letter `ErrorMessage`). */
  errorType?: string;
  errorMessage?: string;
}

export interface InvocationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: InvocationCondition;
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext: {
    statusCode: number;
    executedVersion: '$LATEST';
    functionError?: string;
  };
  responsePayload: unknown;
}

export interface InvocationRecordInput {
  requestId: string;
  /** Qualified: `arn:aws:lambda:<region>:<account>:function:<name>:$LATEST`. */
  functionArn: string;
  condition: InvocationCondition;
  approximateInvokeCount: number;
  requestPayload: Buffer;
  /** The last attempt's answer; undefined when the event was never invoked. */
  response: AttemptResponse | undefined;
  nowMs: number;
}

/** The answer reported for an event that expired or was refused before any invoke ran. */
export function neverInvokedResponse(
  reason: 'EventAgeExceeded' | 'ConcurrencyZero',
): AttemptResponse {
  const errorMessage =
    reason === 'ConcurrencyZero'
      ? 'The function has reserved concurrency 0 and cannot be invoked'
      : 'The event expired before it could be invoked';
  const errorType = reason === 'ConcurrencyZero' ? 'TooManyRequestsException' : 'EventAgeExceeded';
  return {
    statusCode: 429,
    payload: JSON.stringify({ errorType, errorMessage }),
    errorType,
    errorMessage,
  };
}

export function buildInvocationRecord(input: InvocationRecordInput): InvocationRecord {
  const response = input.response ?? neverInvokedResponse('EventAgeExceeded');
  return {
    version: '1.0',
    timestamp: new Date(input.nowMs).toISOString(),
    requestContext: {
      requestId: input.requestId,
      functionArn: input.functionArn,
      condition: input.condition,
      approximateInvokeCount: input.approximateInvokeCount,
    },
    requestPayload: parseJsonOrText(input.requestPayload.toString('utf8')),
    responseContext: {
      statusCode: response.statusCode,
      executedVersion: '$LATEST',
      ...(response.functionError ? { functionError: response.functionError } : {}),
    },
    responsePayload: parseJsonOrText(response.payload),
  };
}

export const DEAD_LETTER_MESSAGE_BYTES = 1024;

/** Lambda sends the dead-letter `ErrorCode` (the status code) as an SQS `Number` attribute. */
export const DEAD_LETTER_ATTRIBUTE_TYPES = { ErrorCode: 'Number' } as const;

/** The original event with Lambda's DLQ attributes `RequestID`, `ErrorCode`, `ErrorMessage`. */
export function buildDeadLetterMessage(
  requestId: string,
  requestPayload: Buffer,
  response: AttemptResponse | undefined,
): { body: string; attributes: Record<string, string> } {
  const r = response ?? neverInvokedResponse('EventAgeExceeded');
  return {
    body: requestPayload.toString('utf8'),
    attributes: {
      RequestID: requestId,
      ErrorCode: String(r.statusCode),
      ErrorMessage: truncateUtf8(r.errorMessage ?? r.payload, DEAD_LETTER_MESSAGE_BYTES),
    },
  };
}

/** The first `maxBytes` of `text` in UTF-8, never cutting a character in half. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
