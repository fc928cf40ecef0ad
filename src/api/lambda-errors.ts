import { SluiceError } from '../errors.ts';
import { ThrottleError } from '../invoker/concurrency.ts';

/** Lambda's service error names and the status each is sent with. */
export const LAMBDA_ERROR_STATUS = {
  InvalidParameterValueException: 400,
  InvalidRequestContentException: 400,
  ResourceInUseException: 400,
  // Not one of Lambda's: Lambda implements every operation. Named like the AWS services that have
  // it, a 400 so no SDK retries it and no tool reads it as a missing resource (see api-server).
  UnsupportedOperationException: 400,
  UnauthorizedException: 401,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ResourceConflictException: 409,
  RequestTooLargeException: 413,
  UnsupportedMediaTypeException: 415,
  TooManyRequestsException: 429,
  ServiceException: 500,
} as const;

export type LambdaErrorName = keyof typeof LAMBDA_ERROR_STATUS;

/** An error the API answers with Lambda's shape: `x-amzn-ErrorType` and `{Type, message}`. */
export class LambdaApiError extends Error {
  readonly errorName: LambdaErrorName;
  readonly status: number;
  readonly extra: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    errorName: LambdaErrorName,
    message: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'LambdaApiError';
    this.errorName = errorName;
    this.status = LAMBDA_ERROR_STATUS[errorName];
    this.extra = extra;
    this.headers = headers;
  }

  body(): Record<string, unknown> {
    return { Type: this.status >= 500 ? 'Service' : 'User', message: this.message, ...this.extra };
  }
}

/** Translates engine errors into Lambda API errors at the API's edge. */
export function toLambdaApiError(err: unknown, functionArn?: string): LambdaApiError {
  if (err instanceof LambdaApiError) return err;
  if (err instanceof ThrottleError) {
    return new LambdaApiError(
      'TooManyRequestsException',
      err.message,
      { Reason: err.reason, retryAfterSeconds: '1' },
      { 'Retry-After': '1' },
    );
  }
  if (err instanceof SluiceError) {
    switch (err.code) {
      case 'FUNCTION_NOT_FOUND':
        return new LambdaApiError(
          'ResourceNotFoundException',
          `Function not found: ${functionArn ?? String(err.context.functionName)}`,
        );
      case 'MAPPING_NOT_FOUND':
        return new LambdaApiError('ResourceNotFoundException', err.message);
      case 'MAPPING_CONFLICT':
        return new LambdaApiError('ResourceConflictException', err.message);
      case 'INVALID_REQUEST':
        return new LambdaApiError('InvalidParameterValueException', err.message);
      case 'SHUTDOWN':
        return new LambdaApiError('ServiceException', 'The service is shutting down; retry later.');
      default:
        break;
    }
  }
  return new LambdaApiError('ServiceException', 'An internal error occurred; see the sluice log.');
}
