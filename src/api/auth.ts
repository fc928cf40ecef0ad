import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LambdaApiError } from './lambda-errors.ts';

/**
 * Bearer-token check in constant time. Digests are compared (not the raw strings) so neither the
 * content nor the length of the token leaks through timing. Errors say nothing about functions.
 */
export function checkBearer(req: IncomingMessage, expectedToken: string): void {
  const header = req.headers.authorization;
  if (!header || !header.startsWith('Bearer ')) {
    throw new LambdaApiError(
      'UnauthorizedException',
      'Missing bearer token',
      {},
      { 'WWW-Authenticate': 'Bearer' },
    );
  }
  if (!tokensEqual(header.slice('Bearer '.length), expectedToken)) {
    throw new LambdaApiError('AccessDeniedException', 'Invalid bearer token');
  }
}

/** Whether the request carries the right bearer token (for routes that answer either way). */
export function hasValidBearer(req: IncomingMessage, expectedToken: string): boolean {
  const header = req.headers.authorization;
  return (
    header !== undefined &&
    header.startsWith('Bearer ') &&
    tokensEqual(header.slice('Bearer '.length), expectedToken)
  );
}

export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
