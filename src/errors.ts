/**
 * The one error base of sluice. Every error the engine raises on purpose is a `SluiceError` with a
 * stable `code` (for programs and logs) and enumerable `context` fields (so structured logs show
 * them). `canRetry` tells callers whether trying the same thing again may succeed.
 */
export type SluiceErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_NOT_FOUND'
  | 'USAGE'
  | 'BROKER_START_FAILED'
  | 'RUNTIME_API'
  | 'ENVIRONMENT_FAILED'
  | 'THROTTLED'
  | 'FUNCTION_NOT_FOUND'
  | 'MAPPING_NOT_FOUND'
  | 'MAPPING_CONFLICT'
  | 'INVALID_REQUEST'
  | 'STORE'
  | 'CONNECTOR'
  | 'DESTINATION'
  | 'SHUTDOWN';

export interface SluiceErrorOptions {
  context?: Record<string, unknown>;
  canRetry?: boolean;
  cause?: unknown;
}

export class SluiceError extends Error {
  readonly code: SluiceErrorCode;
  readonly context: Record<string, unknown>;
  readonly canRetry: boolean;

  constructor(code: SluiceErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.context = options.context ?? {};
    this.canRetry = options.canRetry ?? false;
  }
}

export function isSluiceError(value: unknown, code?: SluiceErrorCode): value is SluiceError {
  return value instanceof SluiceError && (code === undefined || value.code === code);
}
