/**
 * The `SelfManagedKafka` event, built exactly as Lambda builds it (pure, no I/O):
 *
 * ```json
 * {"eventSource":"SelfManagedKafka","bootstrapServers":"b-1:9092,b-2:9092",
 *  "records":{"mytopic-0":[{"topic":"mytopic","partition":0,"offset":15,"timestamp":1545084650987,
 *  "timestampType":"CREATE_TIME","key":"YWJj","value":"SGVsbG8=",
 *  "headers":[{"headerKey":[104,101,97,100,101,114,86,97,108,117,101]}]}]}}
 * ```
 *
 * Records are grouped under `<topic>-<partition>` in the order given; key and value are base64. A
 * null key is left out (the reference example's "key may be absent"); a null value — a tombstone —
 * is sent as `"value": null`, which is what functions on Lambda receive (Powertools for TypeScript
 * issue #4988: its Kafka consumer failed on `value: null` from real tombstones); filters see no
 * data field for it. Headers are an array of one-entry objects of byte arrays, one entry per
 * header value (kafkajs folds repeated header keys into an array; Lambda lists each occurrence),
 * and the bytes are Java's signed bytes (-128…127) because Lambda's poller serialises a Java
 * `byte[]`: `é` is `[-61,-87]`. aws-lambda-go (`[]int8`), .NET and Powertools for Python decode
 * only that form; `[195,169]` made aws-lambda-go fail to unmarshal the whole event.
 */
import type { SourceRecord } from '../../src/connectors/types.ts';

/** The slice of a fetched Kafka message the event needs (kafkajs's message shape fits). */
export interface KafkaMessageLike {
  offset: string;
  /** Epoch ms as a decimal string (kafkajs). */
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
  /** kafkajs keeps the record batch's context here; timestampType 1 = LOG_APPEND_TIME. */
  batchContext?: { timestampType?: number };
}

/** One record as it appears in the event. */
export interface KafkaEventRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  timestampType: 'CREATE_TIME' | 'LOG_APPEND_TIME';
  key?: string;
  /** null for a tombstone. */
  value: string | null;
  headers: Record<string, number[]>[];
}

/** What the connector keeps with each record (the engine sees it as an opaque handle). */
export interface KafkaHandle {
  topic: string;
  partition: number;
  offset: bigint;
  /** The record's key bytes, for the onFailure message key. */
  key: Buffer | null;
  /** `JSON.stringify(event)`, computed once: the size cap and `buildEvent` reuse it. */
  json: string;
  /** Assignment epoch of the partition when fetched: settles of an older epoch are stale. */
  epoch: number;
  /** Set by the partition's log while the record is handed out (see offset-tracker.ts). */
  settleState?: 'pending' | 'done' | 'failed' | undefined;
  /**
   * Given up and accepted by the failure path: a record handed out again with its partition (an
   * earlier record of it is retried) is dropped again, but its failure record is not sent twice.
   */
  givenUp?: true;
}

export const EVENT_SOURCE = 'SelfManagedKafka';

/** The ordering lane and event key of a partition: `<topic>-<partition>`. */
export function laneOf(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

/** The record id the engine matches `batchItemFailures` against: `<topic>-<partition>@<offset>`. */
export function recordIdOf(topic: string, partition: number, offset: bigint | string): string {
  return `${laneOf(topic, partition)}@${String(offset)}`;
}

export function toKafkaEventRecord(
  topic: string,
  partition: number,
  message: KafkaMessageLike,
): KafkaEventRecord {
  const headers: Record<string, number[]>[] = [];
  for (const [name, raw] of Object.entries(message.headers ?? {})) {
    if (raw === undefined) continue;
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      headers.push({ [name]: javaSignedBytes(bytes) });
    }
  }
  return {
    topic,
    partition,
    offset: Number(message.offset),
    timestamp: Number(message.timestamp),
    timestampType: message.batchContext?.timestampType === 1 ? 'LOG_APPEND_TIME' : 'CREATE_TIME',
    ...(message.key === null ? {} : { key: message.key.toString('base64') }),
    value: message.value === null ? null : message.value.toString('base64'),
    headers,
  };
}

/** The bytes as Java's signed `byte` values (0x80…0xff → -128…-1), as Lambda serialises them. */
export function javaSignedBytes(bytes: Uint8Array): number[] {
  return Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/**
 * A fetched Kafka record as the engine sees it. A class rather than an object literal: the id and
 * the event object are built on first read only (batchItemFailures matching, filters, failure
 * paths) — the hot path needs just the JSON, and ~20k buffered records per partition would
 * otherwise each hold a closure, an id string and an object graph for the GC.
 */
class KafkaSourceRecord implements SourceRecord {
  readonly lane: string;
  readonly handle: KafkaHandle;
  readonly sizeBytes: number;
  readonly timestampMs: number;
  #id: string | undefined;
  #event: Record<string, unknown> | undefined;

  constructor(lane: string, handle: KafkaHandle, timestampMs: number) {
    this.lane = lane;
    this.handle = handle;
    this.sizeBytes = Buffer.byteLength(handle.json);
    this.timestampMs = timestampMs;
  }

  get id(): string {
    const { topic, partition, offset } = this.handle;
    this.#id ??= recordIdOf(topic, partition, offset);
    return this.#id;
  }

  get event(): Record<string, unknown> {
    this.#event ??= JSON.parse(this.handle.json) as Record<string, unknown>;
    return this.#event;
  }
}

/**
 * A `SourceRecord` for one fetched message. Filters read its event record: the filter stage
 * decodes `value` (base64 → UTF-8 → JSON) on its own, and only when a pattern names it. `lane`
 * is `laneOf(topic, partition)`, passed in by callers that convert a whole fetched batch.
 */
export function toSourceRecord(
  topic: string,
  partition: number,
  message: KafkaMessageLike,
  epoch: number,
  lane: string = laneOf(topic, partition),
): SourceRecord {
  const handle: KafkaHandle = {
    topic,
    partition,
    offset: BigInt(message.offset),
    key: message.key,
    json: kafkaEventRecordJson(topic, partition, message),
    epoch,
    settleState: undefined,
  };
  const timestampMs = Number(message.timestamp);
  return new KafkaSourceRecord(
    lane,
    handle,
    Number.isFinite(timestampMs) ? timestampMs : Date.now(),
  );
}

/** JSON numbers as `JSON.stringify` writes them (NaN and ±Infinity become null). */
function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/**
 * `JSON.stringify(toKafkaEventRecord(…))`, written directly: same bytes and key order, without
 * building the intermediate object (base64 needs no escaping; names and headers go through
 * `JSON.stringify`).
 */
export function kafkaEventRecordJson(
  topic: string,
  partition: number,
  message: KafkaMessageLike,
): string {
  const headers = message.headers;
  let headersJson = '[]';
  if (headers !== undefined) {
    for (const name in headers) {
      if (Object.hasOwn(headers, name) && headers[name] !== undefined) {
        headersJson = JSON.stringify(toKafkaEventRecord(topic, partition, message).headers);
        break;
      }
    }
  }
  const type = message.batchContext?.timestampType === 1 ? 'LOG_APPEND_TIME' : 'CREATE_TIME';
  return (
    `{"topic":${JSON.stringify(topic)},"partition":${jsonNumber(partition)}` +
    `,"offset":${jsonNumber(Number(message.offset))}` +
    `,"timestamp":${jsonNumber(Number(message.timestamp))},"timestampType":"${type}"` +
    (message.key === null ? '' : `,"key":"${message.key.toString('base64')}"`) +
    (message.value === null ? ',"value":null' : `,"value":"${message.value.toString('base64')}"`) +
    `,"headers":${headersJson}}`
  );
}

export function kafkaHandleOf(record: SourceRecord): KafkaHandle {
  return record.handle as KafkaHandle;
}

/**
 * The event bytes for a batch, records grouped by `<topic>-<partition>` in first-seen order. Built
 * from each record's cached JSON, so a batch of 10,000 records is not serialised twice.
 */
export function buildKafkaEvent(
  records: readonly SourceRecord[],
  bootstrapServers: string,
): Buffer {
  const lanes = new Map<string, string[]>();
  for (const record of records) {
    const list = lanes.get(record.lane);
    const json = kafkaHandleOf(record).json;
    if (list) list.push(json);
    else lanes.set(record.lane, [json]);
  }
  const parts: string[] = [];
  for (const [lane, list] of lanes) parts.push(`${JSON.stringify(lane)}:[${list.join(',')}]`);
  return Buffer.from(
    `{"eventSource":"${EVENT_SOURCE}","bootstrapServers":${JSON.stringify(bootstrapServers)},` +
      `"records":{${parts.join(',')}}}`,
    'utf8',
  );
}

/**
 * Parses a Kafka `itemIdentifier` — `{"partition":"<topic>-<n>","offset":<n>}` — into a record id.
 * The offset may be a number or a decimal string (Java functions often send longs as strings).
 * Anything else is malformed (undefined), which fails the whole batch.
 */
export function identifyKafkaItem(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return undefined;
  const { partition, offset } = item as { partition?: unknown; offset?: unknown };
  if (typeof partition !== 'string' || !/^.+-\d+$/.test(partition)) return undefined;
  let text: string;
  if (typeof offset === 'number' && Number.isSafeInteger(offset) && offset >= 0) {
    text = String(offset);
  } else if (typeof offset === 'string' && /^\d+$/.test(offset)) {
    text = BigInt(offset).toString();
  } else {
    return undefined;
  }
  return `${partition}@${text}`;
}
