/**
 * Parsing of S3 event notifications as pushers send them — AWS's shape (`Records[]`, eventVersion
 * 2.x, `eventName` without the `s3:` prefix), MinIO's webhook shape (the same records with
 * `s3:`-prefixed names, plus top-level `EventName` and `Key`) and AWS's `s3:TestEvent` — into
 * one normalised record type. Pure: no I/O, errors name the field that is wrong.
 */
import { decodeS3Key, S3KeyEncodingError } from './s3-key.ts';

/** A notification record, normalised. Optional fields are absent when the sender left them out. */
export interface S3Record {
  /** As sent (`2.0` from MinIO, `2.1`/`2.2` from AWS). */
  eventVersion: string;
  eventTime: string;
  /** Always with the `s3:` prefix (`s3:ObjectCreated:Put`), so it compares with patterns. */
  eventName: string;
  /** Empty when the sender has none (MinIO without a configured region). */
  awsRegion: string;
  principalId: string;
  sourceIPAddress: string;
  /** `x-amz-request-id` and `x-amz-id-2` when sent. */
  responseElements: Record<string, string>;
  configurationId: string;
  bucket: { name: string; arn: string | undefined; ownerPrincipalId: string };
  object: {
    /** Decoded (`red flower.jpg`), whatever encoding the sender used. */
    key: string;
    size?: number;
    eTag?: string;
    versionId?: string;
    sequencer?: string;
  };
  /** `glacierEventData`, `lifecycleEventData`, … passed through to the function untouched. */
  extras: Record<string, unknown>;
}

export type S3Notification = { kind: 'test' } | { kind: 'records'; records: S3Record[] };

/** A body that is not an S3 notification; the message names what is wrong. */
export class S3NotificationError extends Error {}

/** Top-level record fields AWS may add for some event types; kept for the function. */
const EXTRA_FIELDS = ['glacierEventData', 'lifecycleEventData', 'intelligentTieringEventData'];

/** Parses a request body (already JSON-decoded) into test event or records. */
export function parseS3Notification(body: unknown): S3Notification {
  if (!isObject(body)) throw new S3NotificationError('body must be a JSON object');
  if (body.Event === 's3:TestEvent') return { kind: 'test' };
  if (typeof body.Type === 'string' && typeof body.TopicArn === 'string') {
    throw new S3NotificationError(
      'SNS messages are not supported; point the bucket notification (or MinIO webhook) at this path directly',
    );
  }
  if (!('Records' in body)) {
    throw new S3NotificationError('body must have a Records array (or be an s3:TestEvent)');
  }
  if (!Array.isArray(body.Records)) throw new S3NotificationError('Records must be an array');
  return { kind: 'records', records: body.Records.map((r, i) => parseRecord(r, `Records[${i}]`)) };
}

/**
 * One S3 event record, checked field by field with the path of the first bad one (the checks run
 * in the order the fields are read, so the reported field is the same whichever helper checks it).
 */
function parseRecord(raw: unknown, at: string): S3Record {
  if (!isObject(raw)) throw new S3NotificationError(`${at} must be an object`);
  const eventVersion = parseEventVersion(raw, at);
  const eventName = requiredString(raw, 'eventName', at);
  const eventTime = parseEventTime(raw, at);
  const s3 = requiredObject(raw, 's3', at);
  const bucket = requiredObject(s3, 'bucket', `${at}.s3`);
  const object = requiredObject(s3, 'object', `${at}.s3`);
  const key = parseObjectKey(object, `${at}.s3.object`);
  const size = parseObjectSize(object, `${at}.s3.object`);
  const extras: Record<string, unknown> = {};
  for (const field of EXTRA_FIELDS) if (raw[field] !== undefined) extras[field] = raw[field];
  const responseElements = pickResponseElements(raw.responseElements);
  return {
    eventVersion,
    eventTime,
    eventName: eventName.startsWith('s3:') ? eventName : `s3:${eventName}`,
    awsRegion: optionalString(raw, 'awsRegion', at) ?? '',
    principalId: nestedString(raw.userIdentity, 'principalId'),
    sourceIPAddress: nestedString(raw.requestParameters, 'sourceIPAddress'),
    responseElements,
    configurationId: optionalString(s3, 'configurationId', `${at}.s3`) ?? '',
    bucket: {
      name: requiredString(bucket, 'name', `${at}.s3.bucket`),
      arn: optionalString(bucket, 'arn', `${at}.s3.bucket`),
      ownerPrincipalId: nestedString(bucket.ownerIdentity, 'principalId'),
    },
    object: {
      key,
      ...(size === undefined ? {} : { size }),
      ...optionalField(object, 'eTag', `${at}.s3.object`),
      ...optionalField(object, 'versionId', `${at}.s3.object`),
      ...optionalField(object, 'sequencer', `${at}.s3.object`),
    },
    extras,
  };
}

function parseEventVersion(raw: Record<string, unknown>, at: string): string {
  const eventVersion = requiredString(raw, 'eventVersion', at);
  if (!/^2\.\d+$/.test(eventVersion)) {
    throw new S3NotificationError(
      `${at}.eventVersion must be 2.x, got ${JSON.stringify(eventVersion)}`,
    );
  }
  return eventVersion;
}

function parseEventTime(raw: Record<string, unknown>, at: string): string {
  const eventTime = requiredString(raw, 'eventTime', at);
  if (Number.isNaN(Date.parse(eventTime))) {
    throw new S3NotificationError(
      `${at}.eventTime must be an ISO 8601 time, got ${JSON.stringify(eventTime)}`,
    );
  }
  return eventTime;
}

/** The object key as uploaded: S3 sends it form-encoded (`+` for a space). */
function parseObjectKey(object: Record<string, unknown>, at: string): string {
  const encodedKey = requiredString(object, 'key', at);
  try {
    return decodeS3Key(encodedKey);
  } catch (err) {
    if (err instanceof S3KeyEncodingError) {
      throw new S3NotificationError(`${at}.key ${err.message}`);
    }
    throw err;
  }
}

/** Optional: delete events carry no size. */
function parseObjectSize(object: Record<string, unknown>, at: string): number | undefined {
  const size = object.size;
  if (size !== undefined && !(Number.isSafeInteger(size) && (size as number) >= 0)) {
    throw new S3NotificationError(
      `${at}.size must be a non-negative integer, got ${JSON.stringify(size)}`,
    );
  }
  return size as number | undefined;
}

/** Only the two request-id headers Lambda's S3 event carries. */
function pickResponseElements(raw: unknown): Record<string, string> {
  const responseElements: Record<string, string> = {};
  if (isObject(raw)) {
    for (const h of ['x-amz-request-id', 'x-amz-id-2']) {
      const v = raw[h];
      if (typeof v === 'string') responseElements[h] = v;
    }
  }
  return responseElements;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function requiredObject(o: Record<string, unknown>, field: string, at: string) {
  const v = o[field];
  if (!isObject(v)) throw new S3NotificationError(`${at}.${field} must be an object`);
  return v;
}

function requiredString(o: Record<string, unknown>, field: string, at: string): string {
  const v = o[field];
  if (typeof v !== 'string' || v === '') {
    throw new S3NotificationError(
      `${at}.${field} must be a non-empty string, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`,
    );
  }
  return v;
}

function optionalString(o: Record<string, unknown>, field: string, at: string): string | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    throw new S3NotificationError(`${at}.${field} must be a string, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** `{ field: value }` when a non-empty string is present (MinIO sends `""` for no version). */
function optionalField(o: Record<string, unknown>, field: string, at: string) {
  const v = optionalString(o, field, at);
  return v === undefined || v === '' ? {} : { [field]: v };
}

function nestedString(o: unknown, field: string): string {
  const v = isObject(o) ? o[field] : undefined;
  return typeof v === 'string' ? v : '';
}
