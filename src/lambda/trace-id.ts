/**
 * X-Ray trace headers (`Root=1-<8 hex epoch s>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>`), the value
 * Lambda hands a function as `Lambda-Runtime-Trace-Id` / `_X_AMZN_TRACE_ID`. The Root's 32 hex
 * digits (epoch + random) are also a valid W3C trace id, which is how sluice's own traces will join
 * a function's: one id, two notations. Pure apart from the injected clock and random source.
 */
import { randomFillSync } from 'node:crypto';

export interface TraceHeader {
  /** `1-<8 hex>-<24 hex>`. */
  root: string;
  /** 16 hex digits, when present. */
  parent?: string;
  /** `0`, `1` or `?` (undecided), when present. */
  sampled?: string;
}

const ROOT = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/;
const PARENT = /^[0-9a-f]{16}$/;
/** Longest caller header passed on (X-Ray's own is < 256 chars; the rest is `Lineage`, `Self`…). */
const MAX_HEADER_CHARS = 1024;

export interface TraceIdSources {
  /** Epoch ms. */
  nowMs?: number;
  random?: (bytes: number) => Buffer;
}

/**
 * A new header for an invoke no caller traced. `Sampled=0`: sluice sends no segments to X-Ray, so
 * SDKs that honour the flag (X-Ray SDK, Powertools Tracer) record nothing by default, as on a
 * Lambda function with tracing PassThrough.
 */
export function newTraceHeader(sources: TraceIdSources = {}): string {
  const random = sources.random ?? pooledRandom;
  const epochS = Math.floor((sources.nowMs ?? Date.now()) / 1000);
  const epochHex = (epochS >>> 0).toString(16).padStart(8, '0');
  const unique = random(12).toString('hex');
  const parent = random(8).toString('hex');
  return `Root=1-${epochHex}-${unique};Parent=${parent};Sampled=0`;
}

/**
 * Random bytes from a pool filled 4 KiB at a time: every invoke without a caller's header needs
 * 20 of them, and one `randomBytes` call per id showed in the warm invoke's profile.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolOffset = POOL_BYTES;

function pooledRandom(bytes: number): Buffer {
  if (poolOffset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.subarray(poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return out;
}

/** The parts of an X-Ray header; undefined when it has no valid `Root`. Keys are case-insensitive. */
export function parseTraceHeader(value: string): TraceHeader | undefined {
  let root: string | undefined;
  let parent: string | undefined;
  let sampled: string | undefined;
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const field = part.slice(eq + 1).trim();
    if (key === 'root') root = field.toLowerCase();
    else if (key === 'parent') parent = field.toLowerCase();
    else if (key === 'sampled') sampled = field;
  }
  if (root === undefined || !ROOT.test(root)) return undefined;
  return {
    root,
    ...(parent !== undefined && PARENT.test(parent) ? { parent } : {}),
    ...(sampled === undefined ? {} : { sampled }),
  };
}

/** The 32-hex W3C trace id of an X-Ray header (its Root without `1-` and dashes). */
export function w3cTraceId(header: string): string | undefined {
  const parsed = parseTraceHeader(header);
  return parsed && parsed.root.slice(2).replace('-', '');
}

/**
 * The trace header an invoke runs under: the caller's `X-Amzn-Trace-Id` unchanged when it names a
 * valid Root (so a traced caller's trace goes on in the function), else a new one.
 */
export function invokeTraceHeader(
  callerHeader: string | undefined,
  sources: TraceIdSources = {},
): string {
  if (
    callerHeader !== undefined &&
    callerHeader.length <= MAX_HEADER_CHARS &&
    parseTraceHeader(callerHeader)
  ) {
    return callerHeader;
  }
  return newTraceHeader(sources);
}
