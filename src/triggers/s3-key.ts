/**
 * Object keys in S3 event notifications are URL-encoded, and senders disagree on the flavour:
 * AWS uses form encoding (`red flower.jpg` → `red+flower.jpg`) and leaves `/` alone, MinIO uses
 * Go's `url.QueryEscape` (also `+` for space, but `/` → `%2F`, `~` kept). Keys are decoded on the
 * way in (filters compare decoded keys, as S3's own filter rules do) and re-encoded in AWS's form
 * on the way out, so a function written for Lambda decodes them the way it always has.
 */

/** Thrown for a key that is not valid URL encoding (a lone `%`, bytes that are not UTF-8). */
export class S3KeyEncodingError extends Error {}

/** Form-decodes a notification key: `+` is a space, `%XX` are UTF-8 bytes. */
export function decodeS3Key(encoded: string): string {
  try {
    return decodeURIComponent(encoded.replace(/\+/g, ' '));
  } catch {
    throw new S3KeyEncodingError(`is not valid URL encoding: ${JSON.stringify(encoded)}`);
  }
}

/**
 * Encodes a key as AWS's notifications carry it: Java `URLEncoder` style (letters, digits and
 * `.-*_` kept, space → `+`, every other byte `%XX` in upper-case hex), with `/` kept as is.
 */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/')
    .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
