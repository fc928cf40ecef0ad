/**
 * SQS message → Lambda's `aws:sqs` record, and records → the batch event. Pure: the connector
 * hands in what it received and the queue's identity; nothing here talks to SQS.
 */
import { createHash } from 'node:crypto';
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SourceRecord } from '../../src/connectors/types.ts';
import { SluiceError } from '../../src/errors.ts';

/** A message attribute as Lambda shows it (camelCase, binary as base64, lists always present). */
export interface SqsEventMessageAttribute {
  stringValue?: string;
  binaryValue?: string;
  stringListValues: string[];
  binaryListValues: string[];
  dataType: string;
}

/** One record of Lambda's SQS event, keys as Lambda spells them (`eventSourceARN`). */
export interface SqsEventRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  /** System attributes, values as strings. */
  attributes: Record<string, string>;
  messageAttributes: Record<string, SqsEventMessageAttribute>;
  md5OfBody: string;
  /** As SQS returned it (AWS's MD5 of the attributes); null when the message has none, as AWS. */
  md5OfMessageAttributes: string | null;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

/** What the record needs to know about the queue it came from. */
export interface SqsQueueIdentity {
  eventSourceArn: string;
  awsRegion: string;
  fifo: boolean;
}

/** The connector's opaque `SourceRecord.handle`. */
export interface SqsHandle {
  receiptHandle: string;
  /** ApproximateReceiveCount of this delivery (1 on the first), for failed-visibility backoff. */
  receiveCount: number;
}

// Lambda's attribute set, in the order of its documented example. Anything else SQS returns for
// `All` (e.g. SqsManagedSseEnabled on some brokers) is not part of the Lambda record.
const COMMON_ATTRIBUTES = [
  'ApproximateReceiveCount',
  'SentTimestamp',
  'SenderId',
  'ApproximateFirstReceiveTimestamp',
] as const;
const FIFO_ATTRIBUTES = ['SequenceNumber', 'MessageGroupId', 'MessageDeduplicationId'] as const;
const OPTIONAL_ATTRIBUTES = ['AWSTraceHeader', 'DeadLetterQueueSourceArn'] as const;

export function toSqsEventRecord(message: Message, queue: SqsQueueIdentity): SqsEventRecord {
  if (message.MessageId === undefined || message.ReceiptHandle === undefined) {
    throw new SluiceError(
      'CONNECTOR',
      'SQS returned a message without MessageId or ReceiptHandle',
      {
        context: { eventSourceArn: queue.eventSourceArn, messageId: message.MessageId },
      },
    );
  }
  const body = message.Body ?? '';
  return {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body,
    attributes: convertSystemAttributes(message.Attributes ?? {}, queue.fifo),
    messageAttributes: convertMessageAttributes(message.MessageAttributes ?? {}),
    md5OfBody: message.MD5OfBody ?? md5Hex(body),
    md5OfMessageAttributes: message.MD5OfMessageAttributes ?? null,
    eventSource: 'aws:sqs',
    eventSourceARN: queue.eventSourceArn,
    awsRegion: queue.awsRegion,
  };
}

/** System attributes as Lambda lists them; FIFO-only keys only for FIFO queues. */
export function convertSystemAttributes(
  attributes: Readonly<Record<string, string | undefined>>,
  fifo: boolean,
): Record<string, string> {
  const names = fifo
    ? [...COMMON_ATTRIBUTES, ...FIFO_ATTRIBUTES, ...OPTIONAL_ATTRIBUTES]
    : [...COMMON_ATTRIBUTES, ...OPTIONAL_ATTRIBUTES];
  const converted: Record<string, string> = {};
  for (const name of names) {
    const value = attributes[name];
    if (value !== undefined) converted[name] = String(value);
  }
  return converted;
}

export function convertMessageAttributes(
  attributes: Readonly<Record<string, MessageAttributeValue>>,
): Record<string, SqsEventMessageAttribute> {
  const converted: Record<string, SqsEventMessageAttribute> = {};
  for (const [name, value] of Object.entries(attributes)) {
    // Key order as in Lambda's events: the value, then the (always empty on SQS) lists, the type.
    converted[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: base64(value.BinaryValue) } : {}),
      stringListValues: [...(value.StringListValues ?? [])],
      binaryListValues: (value.BinaryListValues ?? []).map(base64),
      dataType: value.DataType ?? 'String',
    };
  }
  return converted;
}

/**
 * The engine's view of one received message. Lane: the message group for FIFO queues (ordering
 * key), '' for standard queues (unordered).
 */
export function toSourceRecord(
  message: Message,
  queue: SqsQueueIdentity,
  nowMs: number,
): SourceRecord {
  const event = toSqsEventRecord(message, queue);
  const sentAtMs = Number(event.attributes.SentTimestamp);
  // Serialised once: the size cap and `buildSqsEvent` both use this text.
  const json = JSON.stringify(event);
  const handle: SqsHandle = {
    receiptHandle: event.receiptHandle,
    receiveCount: Number(event.attributes.ApproximateReceiveCount ?? '1') || 1,
  };
  eventJson.set(handle, json);
  return {
    id: event.messageId,
    lane: queue.fifo ? (message.Attributes?.MessageGroupId ?? '') : '',
    event: event as unknown as Record<string, unknown>,
    sizeBytes: Buffer.byteLength(json),
    timestampMs: Number.isFinite(sentAtMs) && sentAtMs > 0 ? sentAtMs : nowMs,
    handle,
  };
}

/** `{"Records":[…]}` as JSON bytes, records in the order given. */
export function buildSqsEvent(records: readonly SourceRecord[]): Buffer {
  // Joins each record's JSON from receive time instead of serialising the batch a second time
  // (same bytes as `JSON.stringify({Records: events})`); records made elsewhere are serialised.
  const parts = records.map((record) => eventJsonOf(record) ?? JSON.stringify(record.event));
  return Buffer.from(`{"Records":[${parts.join(',')}]}`);
}

/**
 * `JSON.stringify(event)` of each received record, by its handle, made once at receive time. Kept
 * beside the handle rather than in it: the handle's shape is what settles and tests see.
 */
const eventJson = new WeakMap<object, string>();

function eventJsonOf(record: SourceRecord): string | undefined {
  const handle = record.handle;
  return typeof handle === 'object' && handle !== null ? eventJson.get(handle) : undefined;
}

export function sqsHandleOf(record: SourceRecord): SqsHandle {
  const handle = record.handle as Partial<SqsHandle> | undefined;
  if (typeof handle?.receiptHandle !== 'string') {
    throw new SluiceError('CONNECTOR', `record ${record.id} was not received by an SQS connector`, {
      context: { id: record.id },
    });
  }
  return { receiptHandle: handle.receiptHandle, receiveCount: handle.receiveCount ?? 1 };
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}
