/**
 * Header values exactly as they came. amqplib decodes an AMQP long string (`S`) as UTF-8 text, so
 * bytes that are not UTF-8 become U+FFFD and are lost: the function would see altered bytes, and a
 * retry republish or a parking-queue publish would write the altered bytes back. Lambda's client
 * (the Java one) keeps a long string's bytes and the event shows them as `{"bytes":[…]}`.
 *
 * The fix taps the connection's frame reader: when the headers amqplib decoded from a content
 * header frame contain U+FFFD (which every non-UTF-8 byte sequence turns into), the header table is
 * decoded again from the frame's raw bytes, and each long string that is not valid UTF-8 is kept as
 * a `Buffer` of its bytes. Valid strings stay strings. Downstream nothing changes: the event shows
 * a Buffer's bytes as `{"bytes":[…]}` (as Lambda does for a long string), and amqplib publishes a
 * Buffer as a byte array (`x`), so a republished or parked copy carries the same bytes — as a byte
 * array rather than a long string, since amqplib can only write long strings from text.
 * Messages without U+FFFD in their headers (all but these) cost one walk over their headers.
 */
import { isUtf8 } from 'node:buffer';
import type { ChannelModel } from 'amqplib';

const FRAME_HEADER = 2;
const BASIC_CLASS = 60;
/** type(1) channel(2) size(4), then the payload. */
const FRAME_PREFIX_BYTES = 7;
/** class(2) weight(2) body size(8), then the property flags. */
const FLAGS_AT = 12;
const FLAG_CONTENT_TYPE = 0x8000;
const FLAG_CONTENT_ENCODING = 0x4000;
const FLAG_HEADERS = 0x2000;

/** The parts of amqplib's (internal) connection the tap uses. */
interface FrameReader {
  rest: Buffer;
  recvFrame(): unknown;
}

interface HeaderFrame {
  id: number;
  size: number;
  fields: { headers?: Record<string, unknown> };
}

const tapped = new WeakSet<object>();

/** Makes the connection's deliveries keep non-UTF-8 header strings as their bytes (idempotent). */
export function keepRawHeaderBytes(model: ChannelModel): void {
  const reader = (model as unknown as { connection?: FrameReader }).connection;
  if (!reader || typeof reader.recvFrame !== 'function' || tapped.has(reader)) return;
  tapped.add(reader);
  const recvFrame = reader.recvFrame.bind(reader);
  reader.recvFrame = function (this: FrameReader): unknown {
    const before = this.rest;
    const frame = recvFrame();
    if (isBasicHeaderFrame(frame) && hasReplacementChar(frame.fields.headers)) {
      try {
        const table = headerTableOf(before);
        if (table) frame.fields.headers = decodeTableKeepingBytes(table);
      } catch {
        // amqplib decoded this table; a reading of ours it cannot match keeps amqplib's values.
      }
    }
    return frame;
  };
}

function isBasicHeaderFrame(frame: unknown): frame is HeaderFrame {
  const f = frame as Partial<HeaderFrame> | null | undefined;
  return !!f && typeof f === 'object' && f.id === BASIC_CLASS && typeof f.size === 'number';
}

function hasReplacementChar(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\uFFFD');
  if (Array.isArray(value)) return value.some(hasReplacementChar);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.values(value).some(hasReplacementChar);
  }
  return false;
}

/**
 * The raw header table of the content header frame at the start of `bytes`, or undefined when
 * `bytes` does not start with a whole one (then the frame was read from a buffer refilled in a
 * nested call, whose own tap handled it).
 */
export function headerTableOf(bytes: Buffer): Buffer | undefined {
  if (bytes.length < FRAME_PREFIX_BYTES || bytes[0] !== FRAME_HEADER) return undefined;
  const size = bytes.readUInt32BE(3);
  if (bytes.length < FRAME_PREFIX_BYTES + size + 1 || size < FLAGS_AT + 2) return undefined;
  const payload = bytes.subarray(FRAME_PREFIX_BYTES, FRAME_PREFIX_BYTES + size);
  const flags = payload.readUInt16BE(FLAGS_AT);
  if ((flags & FLAG_HEADERS) === 0) return undefined;
  let at = FLAGS_AT + 2;
  if (flags & FLAG_CONTENT_TYPE) at += 1 + (payload[at] ?? 0);
  if (flags & FLAG_CONTENT_ENCODING) at += 1 + (payload[at] ?? 0);
  const length = payload.readUInt32BE(at);
  return payload.subarray(at + 4, at + 4 + length);
}

/**
 * An AMQP field table decoded as amqplib decodes it (same values, same shapes), except that a long
 * string which is not valid UTF-8 is a copy of its bytes instead of lossy text.
 */
export function decodeTableKeepingBytes(table: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const cursor = { at: 0 };
  while (cursor.at < table.length) {
    const keyLength = table.readUInt8(cursor.at);
    const key = table.toString('utf8', cursor.at + 1, cursor.at + 1 + keyLength);
    cursor.at += 1 + keyLength;
    out[key] = decodeValue(table, cursor);
  }
  return out;
}

function decodeValue(b: Buffer, c: { at: number }): unknown {
  const tag = String.fromCharCode(b.readUInt8(c.at));
  c.at += 1;
  const take = <T>(bytes: number, value: T): T => {
    c.at += bytes;
    return value;
  };
  switch (tag) {
    case 'S':
    case 'x': {
      const length = b.readUInt32BE(c.at);
      const bytes = b.subarray(c.at + 4, c.at + 4 + length);
      c.at += 4 + length;
      if (tag === 'x' || !isUtf8(bytes)) return Buffer.from(bytes);
      return bytes.toString('utf8');
    }
    case 'F':
    case 'A': {
      const length = b.readUInt32BE(c.at);
      const inner = b.subarray(c.at + 4, c.at + 4 + length);
      c.at += 4 + length;
      if (tag === 'F') return decodeTableKeepingBytes(inner);
      const list: unknown[] = [];
      const ic = { at: 0 };
      while (ic.at < inner.length) list.push(decodeValue(inner, ic));
      return list;
    }
    case 'b':
      return take(1, b.readInt8(c.at));
    case 'B':
      return take(1, b.readUInt8(c.at));
    case 's':
      return take(2, b.readInt16BE(c.at));
    case 'u':
      return take(2, b.readUInt16BE(c.at));
    case 'I':
      return take(4, b.readInt32BE(c.at));
    case 'i':
      return take(4, b.readUInt32BE(c.at));
    case 'l':
      return take(8, Number(b.readBigInt64BE(c.at)));
    case 'f':
      return take(4, b.readFloatBE(c.at));
    case 'd':
      return take(8, b.readDoubleBE(c.at));
    case 't':
      return take(1, b[c.at] !== 0);
    case 'V':
      return null;
    case 'T':
      return take(8, { '!': 'timestamp', value: Number(b.readBigUInt64BE(c.at)) });
    case 'D':
      return take(5, {
        '!': 'decimal',
        value: { places: b.readUInt8(c.at), digits: b.readUInt32BE(c.at + 1) },
      });
    default:
      throw new TypeError(`unexpected AMQP field type tag "${tag}"`);
  }
}
