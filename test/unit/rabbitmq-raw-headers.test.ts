import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convertHeaders } from '../../connectors/rabbitmq/rmq-event.ts';
import { decodeTableKeepingBytes, headerTableOf } from '../../connectors/rabbitmq/raw-headers.ts';

const require = createRequire(import.meta.url);
// amqplib's internals (not in its exports): the encoder and decoder the broker's frames go through.
const lib = join(dirname(require.resolve('amqplib')), 'lib');
const codec = require(join(lib, 'codec.js')) as {
  encodeTable(buffer: Buffer, value: unknown, offset: number): number;
  decodeFields(slice: Buffer): Record<string, unknown>;
};
const defs = require(join(lib, 'defs.js')) as {
  BasicProperties: number;
  encodeProperties(id: number, channel: number, size: number, fields: object): Buffer;
};

/** A field table as amqplib writes it (without its length prefix). */
function table(value: Record<string, unknown>): Buffer {
  const buffer = Buffer.alloc(4096);
  const size = codec.encodeTable(buffer, value, 0);
  return buffer.subarray(4, size);
}

/** Swaps `placeholder` for `bytes` (same length) inside an encoded buffer. */
function swap(encoded: Buffer, placeholder: string, bytes: Buffer): Buffer {
  const at = encoded.indexOf(Buffer.from(placeholder));
  if (at < 0 || bytes.length !== placeholder.length) throw new Error('placeholder not found');
  const out = Buffer.from(encoded);
  bytes.copy(out, at);
  return out;
}

const NOT_UTF8 = Buffer.from([0x61, 0xff, 0xfe, 0x00, 0xc3, 0x28]);

describe('RabbitMQ header bytes', () => {
  it('decodes every field type as amqplib does', () => {
    const raw = table({
      s: 'héllo \uFFFD',
      bytes: Buffer.from([1, 2, 3]),
      small: 5,
      short: 1000,
      int: 100_000,
      long: 2 ** 40,
      double: 1.5,
      yes: true,
      nothing: null,
      list: ['a', 1, [false]],
      nested: { deep: { s: 'x', n: -3 } },
      ts: { '!': 'timestamp', value: 1_700_000_000 },
      dec: { '!': 'decimal', value: { places: 2, digits: 12345 } },
      f32: { '!': 'float', value: 0.25 },
      u8: { '!': 'uint8', value: 200 },
      u16: { '!': 'uint16', value: 60_000 },
      u32: { '!': 'uint32', value: 4_000_000_000 },
    });
    expect(decodeTableKeepingBytes(raw)).toEqual(codec.decodeFields(raw));
  });

  it('keeps a long string that is not UTF-8 as its bytes, at any depth', () => {
    const raw = swap(
      swap(table({ top: 'PLACE1', list: ['ok', { deep: 'PLACE2' }] }), 'PLACE1', NOT_UTF8),
      'PLACE2',
      NOT_UTF8,
    );
    // amqplib's own reading loses the bytes.
    expect(codec.decodeFields(raw).top).toBe('a\uFFFD\uFFFD\u0000\uFFFD(');
    const decoded = decodeTableKeepingBytes(raw);
    expect(decoded).toEqual({ top: NOT_UTF8, list: ['ok', { deep: NOT_UTF8 }] });
    // The event shows them as Lambda shows a long string's bytes.
    expect(convertHeaders(decoded)).toEqual({
      top: { bytes: [...NOT_UTF8] },
      list: [{ bytes: [...Buffer.from('ok')] }, { deep: { bytes: [...NOT_UTF8] } }],
    });
  });

  it('finds the header table in a content header frame, after content type and encoding', () => {
    const frame = defs.encodeProperties(defs.BasicProperties, 3, 42, {
      contentType: 'text/plain',
      contentEncoding: 'gzip',
      headers: { h: 'PLACE1' },
      messageId: 'm-1',
    });
    const patched = swap(frame, 'PLACE1', NOT_UTF8);
    const found = headerTableOf(Buffer.concat([patched, Buffer.from('next frame')]));
    expect(found && decodeTableKeepingBytes(found)).toEqual({ h: NOT_UTF8 });
    // A frame not wholly read yet, or one without headers, gives nothing.
    expect(headerTableOf(patched.subarray(0, patched.length - 2))).toBeUndefined();
    const bare = defs.encodeProperties(defs.BasicProperties, 3, 42, { messageId: 'm-1' });
    expect(headerTableOf(bare)).toBeUndefined();
  });
});
