/**
 * AMQP delivery → Lambda's `aws:rmq` record, and records → the batch event. Pure: the connector
 * hands in what amqplib delivered and the queue's identity; nothing here talks to the broker.
 *
 * The shape is Amazon MQ's (lambda-esm.md §4): records under `rmqMessagesByQueue["<queue>::<vhost>"]`,
 * `basicProperties` with the Java client's field names (absent properties are `null`), string header
 * values as `{"bytes":[…]}` (the Java client's LongString), `redelivered`, and the body in base64 as
 * `data`. Nothing is added, so handlers written for Lambda read it unchanged.
 */
import type { SourceRecord } from '../../src/connectors/types.ts';

/** The parts of an amqplib delivery this module reads (a `ConsumeMessage` fits). */
export interface AmqpDelivery {
  content: Buffer;
  fields: { deliveryTag: number; redelivered: boolean };
  properties: {
    contentType?: unknown;
    contentEncoding?: unknown;
    headers?: Record<string, unknown> | undefined;
    deliveryMode?: unknown;
    priority?: unknown;
    correlationId?: unknown;
    replyTo?: unknown;
    expiration?: unknown;
    messageId?: unknown;
    timestamp?: unknown;
    type?: unknown;
    userId?: unknown;
    appId?: unknown;
    clusterId?: unknown;
  };
}

/** Where a record comes from: the queue, its virtual host and the ARN Lambda would report. */
export interface RmqQueueIdentity {
  queue: string;
  virtualHost: string;
  eventSourceArn: string;
}

/** `basicProperties` as Lambda shows them. */
export interface RmqBasicProperties {
  contentType: string | null;
  contentEncoding: string | null;
  headers: Record<string, unknown> | null;
  deliveryMode: number | null;
  priority: number | null;
  correlationId: string | null;
  replyTo: string | null;
  expiration: string | null;
  messageId: string | null;
  timestamp: string | null;
  type: string | null;
  userId: string | null;
  appId: string | null;
  clusterId: string | null;
  bodySize: number;
}

export interface RmqEventRecord {
  basicProperties: RmqBasicProperties;
  redelivered: boolean;
  /** The body, base64. */
  data: string;
  [key: string]: unknown;
}

/** The connector's opaque `SourceRecord.handle`. */
export interface RmqHandle {
  /** Channel session the delivery came on; a tag is meaningless on any other channel. */
  session: number;
  deliveryTag: number;
  /** The delivery itself, kept for republishing (retry count, parking queue). */
  delivery: AmqpDelivery;
  /** Failed deliveries before this one, from the message's own headers (durable count). */
  attemptsBefore: number;
  /** The record's JSON, computed once for its size and reused by `buildEvent`. */
  json: string;
}

/** Header the connector stamps on a republished copy: failed deliveries so far (classic queues). */
export const SLUICE_DELIVERY_COUNT = 'x-sluice-delivery-count';
/** Header a quorum queue stamps on a redelivery: deliveries returned so far. */
export const QUORUM_DELIVERY_COUNT = 'x-delivery-count';

/** `rmqMessagesByQueue` key. */
export function queueKey(queue: string, virtualHost: string): string {
  return `${queue}::${virtualHost}`;
}

export function toRmqEventRecord(delivery: AmqpDelivery): RmqEventRecord {
  return {
    basicProperties: basicProperties(delivery),
    redelivered: delivery.fields.redelivered,
    data: delivery.content.toString('base64'),
  };
}

export function basicProperties(delivery: AmqpDelivery): RmqBasicProperties {
  const p = delivery.properties;
  return {
    contentType: text(p.contentType),
    contentEncoding: text(p.contentEncoding),
    headers: p.headers && Object.keys(p.headers).length > 0 ? convertHeaders(p.headers) : null,
    deliveryMode: int(p.deliveryMode),
    priority: int(p.priority),
    correlationId: text(p.correlationId),
    replyTo: text(p.replyTo),
    expiration: text(p.expiration),
    messageId: text(p.messageId),
    timestamp: typeof p.timestamp === 'number' ? formatAmqpTimestamp(p.timestamp) : null,
    type: text(p.type),
    userId: text(p.userId),
    appId: text(p.appId),
    clusterId: text(p.clusterId),
    bodySize: delivery.content.length,
  };
}

/** Header table as the Java client serialises it: strings and byte arrays as `{"bytes":[…]}`. */
export function convertHeaders(
  headers: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) out[key] = convertHeaderValue(value);
  return out;
}

function convertHeaderValue(value: unknown): unknown {
  if (typeof value === 'string') return { bytes: [...Buffer.from(value, 'utf8')] };
  if (Buffer.isBuffer(value)) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(convertHeaderValue);
  if (typeof value === 'bigint') return Number(value);
  if (value !== null && typeof value === 'object')
    return convertHeaders(value as Record<string, unknown>);
  return value ?? null;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * An AMQP timestamp (epoch seconds) the way Lambda prints it — Java's MEDIUM date-time format in
 * UTC: `Jan 1, 1970, 12:33:41 AM`.
 */
export function formatAmqpTimestamp(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const hours = d.getUTCHours();
  const h12 = hours % 12 === 0 ? 12 : hours % 12;
  const two = (n: number) => String(n).padStart(2, '0');
  const month = MONTHS[d.getUTCMonth()] ?? '';
  return `${month} ${d.getUTCDate()}, ${d.getUTCFullYear()}, ${h12}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} ${hours < 12 ? 'AM' : 'PM'}`;
}

/**
 * Failed deliveries before this one, read from the message (lesson 3: retry state travels with the
 * message). Quorum queues count returns in `x-delivery-count`; our classic-queue republish carries
 * `x-sluice-delivery-count`. A message republished from a quorum queue has both parts, so they add.
 * A classic-queue redelivery after a crash (`redelivered`, no header) is not counted: the batch may
 * never have reached the function.
 */
export function attemptsBefore(headers: Readonly<Record<string, unknown>> | undefined): number {
  if (!headers) return 0;
  return count(headers[SLUICE_DELIVERY_COUNT]) + count(headers[QUORUM_DELIVERY_COUNT]);
}

/**
 * The identity `batchItemFailures` names: the message's `messageId` property when the publisher
 * set one (the function reads it at `basicProperties.messageId`), else the delivery tag as a
 * string. AWS has no partial failures for RabbitMQ; this is ours. The event carries no delivery
 * tag, so only messages with a messageId can be reported one by one — naming anything else fails
 * the whole batch, which is the safe reading.
 */
export function recordId(delivery: AmqpDelivery): string {
  const messageId = text(delivery.properties.messageId);
  return messageId !== null && messageId !== '' ? messageId : String(delivery.fields.deliveryTag);
}

export interface ToSourceRecordOptions {
  session: number;
  /** Ordering lane: the queue when the mapping is ordered, '' otherwise. */
  lane: string;
  nowMs: number;
}

/** JSON of a `text()` value: `null`, or the string as `JSON.stringify` writes it. */
function jsonText(value: unknown): string {
  const t = text(value);
  return t === null ? 'null' : JSON.stringify(t);
}

/** JSON of an `int()` value. */
function jsonInt(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : 'null';
}

/**
 * `JSON.stringify(toRmqEventRecord(delivery))`, written directly: the same bytes and key order
 * without building the intermediate objects (base64 needs no escaping; strings and headers go
 * through `JSON.stringify`). Every delivery pays this, so it is on the hot path.
 */
export function rmqEventRecordJson(delivery: AmqpDelivery): string {
  const p = delivery.properties;
  const headers =
    p.headers && Object.keys(p.headers).length > 0
      ? JSON.stringify(convertHeaders(p.headers))
      : 'null';
  const timestamp =
    typeof p.timestamp === 'number' ? JSON.stringify(formatAmqpTimestamp(p.timestamp)) : 'null';
  return (
    `{"basicProperties":{"contentType":${jsonText(p.contentType)}` +
    `,"contentEncoding":${jsonText(p.contentEncoding)},"headers":${headers}` +
    `,"deliveryMode":${jsonInt(p.deliveryMode)},"priority":${jsonInt(p.priority)}` +
    `,"correlationId":${jsonText(p.correlationId)},"replyTo":${jsonText(p.replyTo)}` +
    `,"expiration":${jsonText(p.expiration)},"messageId":${jsonText(p.messageId)}` +
    `,"timestamp":${timestamp},"type":${jsonText(p.type)},"userId":${jsonText(p.userId)}` +
    `,"appId":${jsonText(p.appId)},"clusterId":${jsonText(p.clusterId)}` +
    `,"bodySize":${delivery.content.length}}` +
    `,"redelivered":${delivery.fields.redelivered ? 'true' : 'false'}` +
    `,"data":"${delivery.content.toString('base64')}"}`
  );
}

/**
 * A `SourceRecord` for one delivery. Its event is parsed back from the JSON only when something
 * reads it (a filter pattern, a failure record): most batches never need the object.
 */
class RmqSourceRecord implements SourceRecord {
  readonly id: string;
  readonly lane: string;
  readonly sizeBytes: number;
  readonly timestampMs: number;
  readonly handle: RmqHandle;
  #event: Record<string, unknown> | undefined;

  constructor(id: string, lane: string, handle: RmqHandle, timestampMs: number) {
    this.id = id;
    this.lane = lane;
    this.handle = handle;
    this.sizeBytes = Buffer.byteLength(handle.json);
    this.timestampMs = timestampMs;
  }

  get event(): Record<string, unknown> {
    this.#event ??= JSON.parse(this.handle.json) as Record<string, unknown>;
    return this.#event;
  }
}

export function toSourceRecord(delivery: AmqpDelivery, o: ToSourceRecordOptions): SourceRecord {
  const handle: RmqHandle = {
    session: o.session,
    deliveryTag: delivery.fields.deliveryTag,
    delivery,
    attemptsBefore: attemptsBefore(delivery.properties.headers),
    json: rmqEventRecordJson(delivery),
  };
  const ts = delivery.properties.timestamp;
  // record-filter decodes `data` (base64 → JSON) itself, only when a pattern names it.
  // AMQP timestamps are whole seconds and optional: the receive time is the better clock.
  const timestampMs = typeof ts === 'number' && ts > 0 ? Math.min(ts * 1000, o.nowMs) : o.nowMs;
  return new RmqSourceRecord(recordId(delivery), o.lane, handle, timestampMs);
}

export function rmqHandleOf(record: SourceRecord): RmqHandle {
  return record.handle as RmqHandle;
}

/** The batch event as JSON bytes, records in the order given; reuses each record's JSON. */
export function buildRmqEvent(records: readonly SourceRecord[], queue: RmqQueueIdentity): Buffer {
  const parts = records.map((r) => {
    const handle = r.handle as Partial<RmqHandle> | undefined;
    return handle?.json ?? JSON.stringify(r.event);
  });
  const key = JSON.stringify(queueKey(queue.queue, queue.virtualHost));
  return Buffer.from(
    `{"eventSource":"aws:rmq","eventSourceArn":${JSON.stringify(queue.eventSourceArn)},` +
      `"rmqMessagesByQueue":{${key}:[${parts.join(',')}]}}`,
    'utf8',
  );
}

function text(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

function int(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function count(value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}
