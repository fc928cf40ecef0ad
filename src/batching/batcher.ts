/**
 * Lambda's batch contract as pure, clock-injected decisions: a lane's batch is released when the
 * first of these happens — it holds `batchSize` records, its batching window expires, or its
 * payload reaches `maxPayloadBytes` (6 MB on Lambda, counting the event envelope and each record's
 * encoded size in the final event).
 *
 * A lane is an ordering key (Kafka partition, SQS FIFO message group, RabbitMQ queue, or one SQS
 * standard poller). Lanes are independent and each has at most one batch in flight, which is what
 * keeps records of a lane in order. The batcher never reads a clock or sets a timer: the caller
 * passes `now` (ms) and sleeps until `nextDeadline(now)`.
 */
import { SluiceError } from '../errors.ts';

/** Lambda's invocation payload limit for event source mappings: 6 MB. */
export const MAX_BATCH_PAYLOAD_BYTES = 6_291_456;

/**
 * When a lane's batching window opens.
 * - `first-record` (Kafka, RabbitMQ): when the oldest buffered record of the lane arrived.
 * - `caller` (SQS): when the previous invocation of the lane completed (`markDone(lane, now)`),
 *   or explicitly via `startWindow`. A window that expired while the lane was empty is void: the
 *   next record opens a new one, so a quiet queue still gets batched.
 */
export type WindowMode = 'first-record' | 'caller';

export interface BatcherOptions<R> {
  /** Most records per batch (Lambda `BatchSize`, 1–10000). */
  batchSize: number;
  /** Batching window in ms, ≥ 0; 0 releases records as soon as the lane is free. */
  maximumBatchingWindowMs: number;
  /** When the window opens. Default `first-record`. */
  windowMode?: WindowMode;
  /** Largest invocation payload in bytes, envelope included. Default 6,291,456 (6 MB). */
  maxPayloadBytes?: number;
  /** Bytes of the event around the records (e.g. `{"Records":[]}` plus source fields). Default 0. */
  envelopeBytes?: number;
  /**
   * Encoded size in bytes of one record in the final event, separator included. Called once per
   * record, when it is added.
   */
  sizeOf: (record: R) => number;
}

/** Why a batch was released. */
export type BatchTrigger = 'size' | 'bytes' | 'window' | 'oversized' | 'drain';

export interface Batch<R> {
  readonly lane: string;
  /** In arrival order. For `oversized`, exactly one record that alone exceeds the payload limit. */
  readonly records: R[];
  /** Envelope plus the records' sizes, in bytes. */
  readonly payloadBytes: number;
  /**
   * `oversized` batches must not be invoked: the connector sends the record to its failure path
   * (never drops it silently) and then calls `markDone` like for any other batch.
   */
  readonly trigger: BatchTrigger;
}

interface Entry<R> {
  readonly record: R;
  readonly bytes: number;
  readonly arrivedAt: number;
}

interface Lane<R> {
  entries: Entry<R>[];
  bytes: number;
  inFlight: boolean;
  /** `caller` mode only: when the current window opened; undefined while none is open. */
  windowStartedAt: number | undefined;
}

function requireNumber(name: string, value: number, min: number, integer: boolean): void {
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `batcher: ${name} must be ${integer ? 'an integer' : 'a finite number'} >= ${min}, got ${String(value)}`,
      { context: { option: name, value } },
    );
  }
}

/** Per-lane buffers with pure release decisions; see the module comment. */
export class Batcher<R> {
  readonly #batchSize: number;
  readonly #windowMs: number;
  readonly #mode: WindowMode;
  readonly #maxBytes: number;
  readonly #envelopeBytes: number;
  readonly #sizeOf: (record: R) => number;
  // Map iteration order is insertion order, so lanes are served in a stable, fair-enough order.
  readonly #lanes = new Map<string, Lane<R>>();
  #size = 0;
  #bytes = 0;

  constructor(options: BatcherOptions<R>) {
    requireNumber('batchSize', options.batchSize, 1, true);
    requireNumber('maximumBatchingWindowMs', options.maximumBatchingWindowMs, 0, false);
    const maxBytes = options.maxPayloadBytes ?? MAX_BATCH_PAYLOAD_BYTES;
    const envelopeBytes = options.envelopeBytes ?? 0;
    requireNumber('envelopeBytes', envelopeBytes, 0, true);
    requireNumber('maxPayloadBytes', maxBytes, envelopeBytes + 1, true);
    this.#batchSize = options.batchSize;
    this.#windowMs = options.maximumBatchingWindowMs;
    this.#mode = options.windowMode ?? 'first-record';
    this.#maxBytes = maxBytes;
    this.#envelopeBytes = envelopeBytes;
    this.#sizeOf = options.sizeOf;
  }

  /** Records buffered across all lanes (not counting batches already released). */
  get size(): number {
    return this.#size;
  }

  /** Sum of the buffered records' sizes in bytes (envelopes not counted), for back-pressure. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  /** Records buffered in one lane. */
  laneSize(lane: string): number {
    return this.#lanes.get(lane)?.entries.length ?? 0;
  }

  isInFlight(lane: string): boolean {
    return this.#lanes.get(lane)?.inFlight ?? false;
  }

  #lane(lane: string): Lane<R> {
    let state = this.#lanes.get(lane);
    if (state === undefined) {
      state = { entries: [], bytes: 0, inFlight: false, windowStartedAt: undefined };
      this.#lanes.set(lane, state);
    }
    return state;
  }

  /** Buffers records of one lane, in order, as arrived at `now` (ms). */
  add(lane: string, records: readonly R[], now: number): void {
    if (records.length === 0) return;
    // Size everything first so a bad sizeOf leaves the buffers untouched.
    const sizes = records.map((record) => {
      const bytes = this.#sizeOf(record);
      if (!Number.isFinite(bytes) || bytes < 0) {
        throw new RangeError(`sizeOf returned ${String(bytes)}; expected a byte count >= 0`);
      }
      return bytes;
    });
    const state = this.#lane(lane);
    if (this.#mode === 'caller' && !state.inFlight && state.entries.length === 0) {
      const open = state.windowStartedAt;
      if (open === undefined || open + this.#windowMs <= now) state.windowStartedAt = now;
    }
    records.forEach((record, i) => {
      const bytes = sizes[i] ?? 0;
      state.entries.push({ record, bytes, arrivedAt: now });
      state.bytes += bytes;
      this.#bytes += bytes;
    });
    this.#size += records.length;
  }

  /**
   * The batches ready at `now`: at most one per lane, only for lanes not in flight. Each returned
   * batch's lane is marked in flight (taking a batch is starting it); call `markDone` when done.
   */
  due(now: number): Batch<R>[] {
    const ready: Batch<R>[] = [];
    for (const [name, state] of this.#lanes) {
      if (state.inFlight || state.entries.length === 0) {
        this.#forgetIfIdle(name, state, now);
        continue;
      }
      const cut = this.#cut(state);
      const trigger =
        cut.trigger ?? (this.#windowDeadline(state, now) <= now ? 'window' : undefined);
      if (trigger === undefined) continue;
      ready.push(this.#take(name, state, cut.count, cut.bytes, trigger));
      state.inFlight = true;
      state.windowStartedAt = undefined;
    }
    return ready;
  }

  /**
   * When the caller should call `due` next: `now` if a batch is ready, else the earliest window
   * deadline of a free lane, else undefined (nothing buffered, or every busy lane waits for
   * `markDone`).
   */
  nextDeadline(now: number): number | undefined {
    let earliest: number | undefined;
    for (const state of this.#lanes.values()) {
      if (state.inFlight || state.entries.length === 0) continue;
      const at = this.#cut(state).trigger !== undefined ? now : this.#windowDeadline(state, now);
      if (earliest === undefined || at < earliest) earliest = at;
    }
    return earliest === undefined ? undefined : Math.max(earliest, now);
  }

  /** Holds a lane busy (e.g. while a connector retries it outside the batcher). */
  markInFlight(lane: string): void {
    this.#lane(lane).inFlight = true;
  }

  /**
   * The lane's batch has finished (success or failure path) at `now`. In `caller` mode this opens
   * the lane's next batching window.
   */
  markDone(lane: string, now: number): void {
    const state = this.#lanes.get(lane);
    if (state === undefined) return;
    state.inFlight = false;
    if (this.#mode === 'caller') state.windowStartedAt = now;
    this.#forgetIfIdle(lane, state, now);
  }

  /** `caller` mode: opens the lane's batching window at `at` (ms), replacing any open one. */
  startWindow(lane: string, at: number): void {
    this.#lane(lane).windowStartedAt = at;
  }

  /**
   * Everything buffered, as legal batches (split by size and bytes; oversized records alone),
   * ignoring windows and in-flight marks, for shutdown: a window must never delay a stop. Lanes
   * keep their in-flight marks.
   */
  drain(): Batch<R>[] {
    const batches: Batch<R>[] = [];
    for (const [name, state] of this.#lanes) {
      while (state.entries.length > 0) {
        const cut = this.#cut(state);
        batches.push(
          this.#take(
            name,
            state,
            cut.count,
            cut.bytes,
            cut.trigger === 'oversized' ? 'oversized' : 'drain',
          ),
        );
      }
      state.windowStartedAt = undefined;
    }
    return batches;
  }

  /** Removes a lane (e.g. a revoked Kafka partition) and returns its buffered records. */
  discardLane(lane: string): R[] {
    const state = this.#lanes.get(lane);
    if (state === undefined) return [];
    this.#lanes.delete(lane);
    this.#size -= state.entries.length;
    this.#bytes -= state.bytes;
    return state.entries.map((e) => e.record);
  }

  #windowDeadline(state: Lane<R>, now: number): number {
    if (this.#mode === 'first-record') return (state.entries[0]?.arrivedAt ?? now) + this.#windowMs;
    // A free lane with records always has an open window; `now` is a defensive fallback.
    return (state.windowStartedAt ?? now) + this.#windowMs;
  }

  /**
   * The head of the lane that fits one batch, and whether size or bytes alone release it now.
   * Pure: looks at the buffer, changes nothing.
   */
  #cut(state: Lane<R>): { count: number; bytes: number; trigger?: BatchTrigger } {
    const entries = state.entries;
    // Cheap common case: everything buffered fits, below both limits — no scan needed.
    if (entries.length < this.#batchSize && this.#envelopeBytes + state.bytes < this.#maxBytes) {
      return { count: entries.length, bytes: this.#envelopeBytes + state.bytes };
    }
    const first = entries[0];
    if (first !== undefined && this.#envelopeBytes + first.bytes > this.#maxBytes) {
      return { count: 1, bytes: this.#envelopeBytes + first.bytes, trigger: 'oversized' };
    }
    let count = 0;
    let bytes = this.#envelopeBytes;
    while (count < entries.length && count < this.#batchSize) {
      const next = entries[count];
      if (next === undefined || bytes + next.bytes > this.#maxBytes) break;
      bytes += next.bytes;
      count++;
    }
    if (count === this.#batchSize) return { count, bytes, trigger: 'size' };
    // Stopped early because the next record does not fit, or the payload is exactly full.
    if (count < entries.length || bytes === this.#maxBytes)
      return { count, bytes, trigger: 'bytes' };
    return { count, bytes };
  }

  #take(
    lane: string,
    state: Lane<R>,
    count: number,
    bytes: number,
    trigger: BatchTrigger,
  ): Batch<R> {
    const taken = state.entries.splice(0, count);
    const recordBytes = bytes - this.#envelopeBytes;
    state.bytes -= recordBytes;
    this.#bytes -= recordBytes;
    this.#size -= taken.length;
    return { lane, records: taken.map((e) => e.record), payloadBytes: bytes, trigger };
  }

  /** Drops the state of a lane with nothing left to remember, so many FIFO groups do not leak. */
  #forgetIfIdle(lane: string, state: Lane<R>, now: number): void {
    if (state.inFlight || state.entries.length > 0) return;
    const open = state.windowStartedAt;
    if (open !== undefined && open + this.#windowMs > now) return;
    this.#lanes.delete(lane);
  }
}
