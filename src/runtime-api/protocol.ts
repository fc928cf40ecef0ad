/**
 * Pure pieces of the Lambda Runtime API (2018-06-01) and Extensions API (2020-01-01): header names,
 * limits, route parsing and the error bodies RAPID answers with. No I/O here, so the routing and
 * the bodies can be unit-tested without a socket.
 */

/** Largest response or error body a runtime may post (RIE's figure: 6 MB plus framing). */
export const MAX_RESPONSE_BYTES = 6_291_556;

export const HEADERS = {
  requestId: 'lambda-runtime-aws-request-id',
  deadlineMs: 'lambda-runtime-deadline-ms',
  functionArn: 'lambda-runtime-invoked-function-arn',
  traceId: 'lambda-runtime-trace-id',
  clientContext: 'lambda-runtime-client-context',
  cognitoIdentity: 'lambda-runtime-cognito-identity',
  functionErrorType: 'lambda-runtime-function-error-type',
  functionErrorBody: 'lambda-runtime-function-error-body',
  extensionName: 'lambda-extension-name',
  extensionId: 'lambda-extension-identifier',
  extensionEventId: 'lambda-extension-event-identifier',
  extensionErrorType: 'lambda-extension-function-error-type',
} as const;

export type RuntimeRoute =
  | { kind: 'next' }
  | { kind: 'response'; requestId: string }
  | { kind: 'error'; requestId: string }
  | { kind: 'init-error' }
  | { kind: 'extension-register' }
  | { kind: 'extension-next' }
  | { kind: 'extension-init-error' }
  | { kind: 'extension-exit-error' }
  | { kind: 'unknown' };

const INVOCATION_PATH = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/;

/** Maps a method and URL path (query ignored) to the API operation it names. */
export function parseRoute(method: string, rawPath: string): RuntimeRoute {
  const path = rawPath.split('?')[0] ?? '';
  if (method === 'GET') {
    if (path === '/2018-06-01/runtime/invocation/next') return { kind: 'next' };
    if (path === '/2020-01-01/extension/event/next') return { kind: 'extension-next' };
    return { kind: 'unknown' };
  }
  if (method !== 'POST') return { kind: 'unknown' };
  if (path === '/2018-06-01/runtime/init/error') return { kind: 'init-error' };
  if (path === '/2020-01-01/extension/register') return { kind: 'extension-register' };
  if (path === '/2020-01-01/extension/init/error') return { kind: 'extension-init-error' };
  if (path === '/2020-01-01/extension/exit/error') return { kind: 'extension-exit-error' };
  const match = INVOCATION_PATH.exec(path);
  if (!match) return { kind: 'unknown' };
  let requestId: string;
  try {
    // Clients URL-encode the id (the Node client uses encodeURIComponent).
    requestId = decodeURIComponent(match[1] ?? '');
  } catch {
    return { kind: 'unknown' };
  }
  return match[2] === 'response' ? { kind: 'response', requestId } : { kind: 'error', requestId };
}

export interface ApiErrorReply {
  status: number;
  body: { errorMessage: string; errorType: string };
}

export function invalidRequestId(requestId: string): ApiErrorReply {
  return {
    status: 400,
    body: { errorMessage: `Invalid request ID: ${requestId}`, errorType: 'InvalidRequestID' },
  };
}

export function invalidStateTransition(detail: string): ApiErrorReply {
  return {
    status: 403,
    body: {
      errorMessage: `State transition is not allowed: ${detail}`,
      errorType: 'InvalidStateTransition',
    },
  };
}

export function requestTooLarge(): ApiErrorReply {
  return {
    status: 413,
    body: {
      errorMessage: `Exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
      errorType: 'RequestEntityTooLarge',
    },
  };
}

export function unknownPath(method: string, path: string): ApiErrorReply {
  return {
    status: 404,
    body: { errorMessage: `Unknown path ${method} ${path}`, errorType: 'InvalidRequest' },
  };
}

export function invalidExtensionId(): ApiErrorReply {
  return {
    status: 403,
    body: {
      errorMessage: 'Missing or unknown Lambda-Extension-Identifier',
      errorType: 'Extension.InvalidExtensionIdentifier',
    },
  };
}

export function extensionRegisterRejected(detail: string): ApiErrorReply {
  return { status: 403, body: { errorMessage: detail, errorType: 'Extension.RegistrationError' } };
}

/** Lambda's error for a response over the limit (what a caller receives instead of the payload). */
export function responseTooLargeError(): { errorType: string; errorMessage: string } {
  return {
    errorType: 'Function.ResponseSizeTooLarge',
    errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
  };
}

/** Headers of a `/next` answer. Optional headers are left out when the invoke has no value. */
export function nextInvocationHeaders(invocation: {
  requestId: string;
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId?: string;
  clientContext?: string;
  cognitoIdentity?: string;
}): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Aws-Request-Id': invocation.requestId,
    'Lambda-Runtime-Deadline-Ms': String(invocation.deadlineMs),
    'Lambda-Runtime-Invoked-Function-Arn': invocation.invokedFunctionArn,
  };
  if (invocation.traceId) headers['Lambda-Runtime-Trace-Id'] = invocation.traceId;
  if (invocation.clientContext) headers['Lambda-Runtime-Client-Context'] = invocation.clientContext;
  if (invocation.cognitoIdentity) {
    headers['Lambda-Runtime-Cognito-Identity'] = invocation.cognitoIdentity;
  }
  return headers;
}
