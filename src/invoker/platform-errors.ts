import { responseTooLargeError } from '../runtime-api/protocol.ts';
import type { FunctionErrorBody } from './types.ts';

/**
 * Error bodies the platform (not the function) produces, worded as Lambda words them. Each takes
 * the request id because Lambda prefixes platform messages with `RequestId: <id> Error: `.
 */

export function timedOut(requestId: string, timeoutMs: number): FunctionErrorBody {
  return {
    errorType: 'Sandbox.Timedout',
    errorMessage: `RequestId: ${requestId} Error: Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
  };
}

/** `exitText` is Go's wording: `exit status 1`, `signal: killed`. */
export function runtimeExited(requestId: string, exitText: string): FunctionErrorBody {
  return {
    errorType: 'Runtime.ExitError',
    errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${exitText}`,
  };
}

export function outOfMemory(requestId: string, exitText = 'signal: killed'): FunctionErrorBody {
  return {
    errorType: 'Runtime.OutOfMemory',
    errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${exitText}`,
  };
}

/** The bootstrap cannot be executed (missing, not executable). */
export function invalidEntrypoint(requestId: string, detail: string): FunctionErrorBody {
  return {
    errorType: 'Runtime.InvalidEntrypoint',
    errorMessage: `RequestId: ${requestId} Error: ${detail}`,
  };
}

/** An external extension crashed or failed to start (wording unconfirmed; type as in the RIE). */
export function extensionCrashed(
  requestId: string,
  name: string,
  exitText: string,
): FunctionErrorBody {
  return {
    errorType: 'Extension.Crash',
    errorMessage: `RequestId: ${requestId} Error: Extension ${name} exited with error: ${exitText}`,
  };
}

export function responseTooLarge(): FunctionErrorBody {
  return responseTooLargeError();
}

/**
 * Reads a body the runtime posted to `/error` or `/init/error`. Runtimes send JSON
 * `{errorType, errorMessage, ...}`; anything else is wrapped so callers always get that shape.
 * The header `Lambda-Runtime-Function-Error-Type` is used only when the body names no type.
 */
export function fromPostedError(
  body: Buffer,
  headerType: string | undefined,
): { error: FunctionErrorBody; payload: Buffer } {
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      const record = parsed as Record<string, unknown>;
      const error: FunctionErrorBody = {
        ...record,
        errorType:
          typeof record.errorType === 'string'
            ? record.errorType
            : (headerType ?? 'Runtime.Unknown'),
        errorMessage: typeof record.errorMessage === 'string' ? record.errorMessage : '',
      };
      const payload =
        typeof record.errorType === 'string' ? body : Buffer.from(JSON.stringify(error));
      return { error, payload };
    }
  } catch {
    // not JSON: wrapped below
  }
  const error: FunctionErrorBody = {
    errorType: headerType ?? 'Runtime.Unknown',
    errorMessage: text,
  };
  return { error, payload: Buffer.from(JSON.stringify(error)) };
}
