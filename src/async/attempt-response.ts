import type { InvokeResult } from '../invoker/types.ts';
import type { AttemptResponse } from './invocation-record.ts';
import type { AttemptOutcome } from './retry-policy.ts';

/**
 * An attempt's answer as the invocation record reports it (responseContext and responsePayload),
 * and as it is kept on the queued row between attempts (`lastError`, JSON) so a record written
 * after a later give-up still carries the last answer.
 */

/** What one invoke of a queued event came to, as the retry policy reads it. */
export interface Attempt {
  outcome: AttemptOutcome;
  response: AttemptResponse;
  /** The row's attempts including this one when the function ran. */
  attempts: number;
}

/** The function ran: status 200, with its FunctionError when it failed. */
export function responseOf(result: InvokeResult): AttemptResponse {
  const payload = result.payload.toString('utf8');
  if (result.ok) return { statusCode: 200, payload };
  return {
    statusCode: 200,
    functionError: result.functionError,
    payload,
    errorType: result.error.errorType,
    errorMessage: result.error.errorMessage,
  };
}

/** The function did not run: 429 for a throttle, 500 for an engine error. */
export function errorResponse(err: unknown, statusCode: number): AttemptResponse {
  const errorType = statusCode === 429 ? 'TooManyRequestsException' : 'ServiceException';
  const errorMessage = err instanceof Error ? err.message : String(err);
  return {
    statusCode,
    payload: JSON.stringify({ errorType, errorMessage }),
    errorType,
    errorMessage,
  };
}

/** The row's `lastError`; undefined when absent or not JSON. */
export function parseLastError(text: string | undefined): AttemptResponse | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as AttemptResponse;
  } catch {
    return undefined;
  }
}
