/**
 * AWS SDK errors → `SluiceError('CONNECTOR')` plus the health they imply. The one place that knows
 * SDK error names; nothing past the connector sees an SDK error.
 */
import { NETWORK_ERROR_CODES } from '../../src/connectors/network-errors.ts';
import type { ConnectorHealth } from '../../src/connectors/types.ts';
import { SluiceError } from '../../src/errors.ts';

export interface TranslatedSqsError {
  error: SluiceError;
  /** What `health()` should say now; undefined = this error says nothing about the source. */
  health: ConnectorHealth | undefined;
}

const NOT_FOUND = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);
// Credentials that are missing, wrong or expired: nothing changes until someone fixes them, except
// a provider chain that may answer later (instance metadata starting up) or a token it refreshes.
const AUTHN_FINAL = new Set([
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'InvalidSecurity',
]);
const AUTHN_RETRYABLE = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'RequestExpired',
]);
const AUTHZ = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'KmsAccessDenied',
  'KMS.AccessDeniedException',
]);
const THROTTLED = new Set([
  'RequestThrottled',
  'ThrottlingException',
  'Throttling',
  'OverLimit',
  'KmsThrottled',
]);
// Node's network codes plus the SDK's own names for a request that timed out.
const NETWORK = new Set([
  ...NETWORK_ERROR_CODES,
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** The SDK's error name, or a Node network error code (also inside an AggregateError). */
export function sqsErrorName(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const withCode = error as Error & { code?: unknown; errors?: unknown[]; Code?: unknown };
  if (typeof withCode.code === 'string' && NETWORK.has(withCode.code)) return withCode.code;
  if (Array.isArray(withCode.errors)) {
    const inner = withCode.errors.map(sqsErrorName).find((name) => NETWORK.has(name));
    if (inner) return inner;
  }
  if (error.cause !== undefined && error.cause !== error) {
    const inner = sqsErrorName(error.cause);
    if (NETWORK.has(inner)) return inner;
  }
  if (error.name !== 'Error') return error.name;
  return typeof withCode.code === 'string' ? withCode.code : error.name;
}

export function isAbortError(error: unknown): boolean {
  return (
    error instanceof Error && (error.name === 'AbortError' || sqsErrorName(error) === 'AbortError')
  );
}

export function translateSqsError(
  error: unknown,
  operation: string,
  queueUrl: string,
): TranslatedSqsError {
  const name = sqsErrorName(error);
  const text = error instanceof Error ? error.message : String(error);
  const context = { operation, queueUrl, awsError: name };
  const fault = (error as { $fault?: unknown } | undefined)?.$fault;

  const make = (message: string, canRetry: boolean, health: ConnectorHealth | undefined) => ({
    error: new SluiceError('CONNECTOR', message, { context, canRetry, cause: error }),
    health,
  });

  if (NOT_FOUND.has(name)) {
    const message = `SQS queue ${queueUrl} does not exist`;
    // Retryable: the queue may be created after sluice starts (compose files race).
    return make(message, true, { ok: false, reason: 'EVENT_SOURCE_NOT_FOUND', detail: message });
  }
  if (AUTHN_FINAL.has(name) || AUTHN_RETRYABLE.has(name)) {
    const message = `SQS rejected the credentials (${name}) for ${operation} on ${queueUrl}: ${text}`;
    return make(message, AUTHN_RETRYABLE.has(name), {
      ok: false,
      reason: 'EVENT_SOURCE_AUTHN_ERROR',
      detail: message,
    });
  }
  if (AUTHZ.has(name)) {
    const message = `SQS denied ${operation} on ${queueUrl} (${name}): ${text}`;
    return make(message, false, { ok: false, reason: 'EVENT_SOURCE_AUTHZ_ERROR', detail: message });
  }
  if (NETWORK.has(name)) {
    const message = `cannot reach SQS for ${operation} on ${queueUrl}: ${name} ${text}`.trim();
    return make(message, true, { ok: false, reason: 'EVENT_SOURCE_UNREACHABLE', detail: message });
  }
  if (THROTTLED.has(name)) {
    // Transient and expected under load: not a health problem.
    return make(`SQS throttled ${operation} on ${queueUrl} (${name})`, true, undefined);
  }
  const serverSide = fault === 'server' || httpStatus(error) >= 500;
  const message = `SQS ${operation} on ${queueUrl} failed (${name}): ${text}`;
  return make(message, serverSide, { ok: false, reason: 'EVENT_SOURCE_ERROR', detail: message });
}

function httpStatus(error: unknown): number {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata
    ?.httpStatusCode;
  return typeof status === 'number' ? status : 0;
}
