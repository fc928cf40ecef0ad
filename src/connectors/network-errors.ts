/**
 * Node's error codes for "the broker cannot be reached" (refused, reset, unknown host, timed out,
 * no route). Every connector translates these to the same health state, EVENT_SOURCE_UNREACHABLE,
 * so they live in one place.
 */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);
