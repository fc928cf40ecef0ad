/**
 * Applies a mapping's compiled filters to one source record, with Lambda's per-source decoding of
 * the data field:
 *
 * - SQS (`body`): the body is a string. When it parses as a JSON object or array it is matched as
 *   that structure; otherwise it is matched as the plain string. So a plain-string body never
 *   matches an object pattern on `body`, and a JSON body never matches a string value list on
 *   `body` — the message is filtered out (deleted), as on AWS. A body that is a JSON scalar
 *   (`42`, `true`) stays a string: a sender of `42` means the text, and `{"body": ["42"]}` matches it.
 * - Kafka (`value`) and RabbitMQ (`data`): base64 of the payload. It is decoded to UTF-8 and parsed
 *   as JSON (any JSON value). When that fails (not UTF-8, not JSON) or there is no payload (a Kafka
 *   tombstone), the data field counts as absent: "only metadata filters apply", so a pattern that
 *   constrains the data field cannot match (except `exists: false`) while a pattern on metadata
 *   alone still can. We chose "does not match" over "ignore that part of the pattern" because a
 *   filter on `value.type` is a promise that only such records reach the function.
 *
 * The data field is decoded only when some pattern names it, and at most once per record.
 */
import type { CompiledFilters } from './filter-types.ts';
import { matchesFields } from './filter-match.ts';

/**
 * The field of a source record that holds the message payload, and how it is written (each
 * source plugin names its own): `json-text` (SQS `body`) or `base64-json` (Kafka `value`,
 * RabbitMQ `data`). Structurally the seam's `FilterData`.
 */
export interface FilterSource {
  readonly key: string;
  readonly encoding: 'json-text' | 'base64-json';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes an SQS body for matching: a JSON object/array, or the string itself. */
export function decodeSqsBody(body: unknown): unknown {
  if (typeof body !== 'string') return undefined;
  const first = body.trimStart()[0];
  // Only a body that can be a JSON object or array is worth a parse attempt.
  if (first !== '{' && first !== '[') return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

/**
 * Decodes a Kafka/RabbitMQ payload for matching: base64 text (as in the Lambda event) or raw bytes
 * (connectors that still hold the broker's buffer skip the base64 round trip). Returns undefined
 * when there is no payload or it is not UTF-8 JSON.
 */
export function decodeBinaryPayload(data: unknown): unknown {
  let bytes: Uint8Array;
  if (typeof data === 'string') bytes = Buffer.from(data, 'base64');
  else if (data instanceof Uint8Array) bytes = data;
  else return undefined;
  try {
    return JSON.parse(utf8.decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

/** The data field as the patterns see it. */
export function decodeRecordData(source: FilterSource, raw: unknown): unknown {
  return source.encoding === 'json-text' ? decodeSqsBody(raw) : decodeBinaryPayload(raw);
}

const NOT_DECODED: unique symbol = Symbol('not decoded');

/**
 * True when the record passes the mapping's filters: there are none, or at least one pattern
 * matches. `record` is the record as it appears in the Lambda event (metadata fields plus the data
 * field under the source's data key).
 */
export function applyFilters(
  compiled: CompiledFilters,
  record: Readonly<Record<string, unknown>>,
  source: FilterSource,
): boolean {
  if (compiled.patterns.length === 0) return true;
  const dataKey = source.key;
  let decoded: unknown = NOT_DECODED;
  const lookup = (key: string): unknown => {
    if (key !== dataKey) return Object.hasOwn(record, key) ? record[key] : undefined;
    if (decoded === NOT_DECODED) {
      decoded = decodeRecordData(source, Object.hasOwn(record, key) ? record[key] : undefined);
    }
    return decoded;
  };
  return compiled.patterns.some((pattern) => matchesFields(pattern.root, lookup));
}

/** Splits records into those that pass the filters and those filtered out, keeping order. */
export function partitionByFilters<R extends Readonly<Record<string, unknown>>>(
  compiled: CompiledFilters,
  records: readonly R[],
  source: FilterSource,
): { passed: R[]; filteredOut: R[] } {
  const passed: R[] = [];
  const filteredOut: R[] = [];
  for (const record of records) {
    (applyFilters(compiled, record, source) ? passed : filteredOut).push(record);
  }
  return { passed, filteredOut };
}
