/**
 * One partition's position, as pure bookkeeping (no I/O): records fetched but not handed out (the
 * buffer), records handed out and not settled (outstanding), and what may be committed.
 *
 * Rules it keeps:
 * - A partition hands out records to one batch at a time: nothing is taken while earlier records are
 *   outstanding, so a partition never has two batches in flight and keeps its order.
 * - Commits are contiguous: only the settled prefix of the outstanding records is committed
 *   (filtered-out and dropped records count as settled), never past the first unsettled or failed
 *   offset.
 * - A failure rewinds in memory: once every outstanding record is settled, the records from the
 *   first failed offset on go back to the front of the buffer, so they are handed out again, in
 *   order, without a broker round trip. Records settled as succeeded *after* a failed one (a batch
 *   that the 6 MB cap split) are redelivered too: order first, then at-least-once.
 * - Fetched messages are accepted only above the highest offset seen, so a re-fetch after a
 *   rebalance (kafkajs restarts from the committed offset) never duplicates what is held.
 */
import type { SourceRecord } from '../../src/connectors/types.ts';
import { kafkaHandleOf, type KafkaHandle } from './kafka-event.ts';

/** Failures of the record at `offset` so far (the head of the failing batch). */
export interface RetryState {
  offset: bigint;
  attempts: number;
  /** When it first failed (epoch ms), for logs and the failure record. */
  firstFailureMs: number;
}

/**
 * Bisection in progress: the next batch of this partition holds at most `cap` records (once), and
 * none beyond `suspectEnd` until the suspect range has been handed out.
 */
export interface BisectState {
  cap: number | undefined;
  suspectEnd: bigint;
}

/**
 * A handed-out record's state lives on its handle (`settleState`), not in a map by id: one less
 * allocation and hash per record on the hot path. It is set only while the record is in this
 * log's outstanding list, so a record that was cleared or put back reads as not outstanding.
 */
function stateOf(record: SourceRecord): KafkaHandle['settleState'] {
  return kafkaHandleOf(record).settleState;
}

export interface Advance {
  /** Offset to commit (the next offset to consume), when the settled prefix grew. */
  commitTo: bigint | undefined;
  /** Records the commit covers that were not covered before. */
  committedRecords: number;
  /** Records put back at the front of the buffer for another try. */
  requeued: number;
}

export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  readonly lane: string;
  epoch: number;
  /** Next offset to consume per the group's committed offset (undefined = none known yet). */
  committed: bigint | undefined;
  /** Log end offset last reported by the broker, for OffsetLag. */
  highWatermark: bigint | undefined;
  retry: RetryState | undefined;
  bisect: BisectState | undefined;
  /** A failed partition is not handed out again before this time (retry back-off). */
  notBeforeMs = 0;
  /** Buffered records are `#buffer[#head…]`: taking from the front moves `#head`, not memory. */
  #buffer: SourceRecord[] = [];
  #head = 0;
  #bufferedBytes = 0;
  /** Handed out, not yet committed or put back, in offset order. */
  #outstanding: SourceRecord[] = [];
  #lastKnown: bigint | undefined;

  constructor(topic: string, partition: number, lane: string, epoch: number) {
    this.topic = topic;
    this.partition = partition;
    this.lane = lane;
    this.epoch = epoch;
  }

  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  get bufferedBytes(): number {
    return this.#bufferedBytes;
  }

  get outstanding(): number {
    return this.#outstanding.length;
  }

  /** The next offset this partition will hand out, or the committed one if nothing is held. */
  get position(): bigint | undefined {
    const first = this.#outstanding[0] ?? this.#buffer[this.#head];
    if (first) return kafkaHandleOf(first).offset;
    return this.#lastKnown === undefined ? this.committed : this.#lastKnown + 1n;
  }

  /** Appends fetched records above the highest offset seen; returns how many were new. */
  accept(records: readonly SourceRecord[]): number {
    let added = 0;
    for (const record of records) {
      const offset = kafkaHandleOf(record).offset;
      if (this.#lastKnown !== undefined && offset <= this.#lastKnown) continue;
      if (this.committed !== undefined && offset < this.committed) continue;
      this.#lastKnown = offset;
      this.#buffer.push(record);
      this.#bufferedBytes += record.sizeBytes;
      added += 1;
    }
    return added;
  }

  /** True when a `take` would return records now. */
  ready(nowMs: number): boolean {
    return this.#outstanding.length === 0 && this.buffered > 0 && nowMs >= this.notBeforeMs;
  }

  /** Hands out up to `max` records (fewer while bisecting); [] while records are outstanding. */
  take(max: number, nowMs: number): SourceRecord[] {
    if (!this.ready(nowMs) || max <= 0) return [];
    let limit = max;
    const bisect = this.bisect;
    const first = this.#buffer[this.#head];
    if (bisect && first) {
      if (kafkaHandleOf(first).offset > bisect.suspectEnd) {
        this.bisect = undefined;
      } else {
        let inRange = 0;
        for (let i = this.#head; i < this.#buffer.length; i++) {
          if (kafkaHandleOf(this.#buffer[i] as SourceRecord).offset > bisect.suspectEnd) break;
          inRange += 1;
        }
        limit = Math.min(limit, inRange, bisect.cap ?? inRange);
        bisect.cap = undefined;
      }
    }
    const taken = this.#buffer.slice(this.#head, this.#head + limit);
    this.#head += taken.length;
    if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) this.#compact();
    for (const record of taken) {
      this.#bufferedBytes -= record.sizeBytes;
      kafkaHandleOf(record).settleState = 'pending';
      this.#outstanding.push(record);
    }
    return taken;
  }

  /** Marks a handed-out record; false when it is not outstanding here (stale or settled). */
  settle(record: SourceRecord, outcome: 'done' | 'failed'): boolean {
    const handle = kafkaHandleOf(record);
    if (handle.epoch !== this.epoch || handle.settleState !== 'pending') return false;
    handle.settleState = outcome;
    return true;
  }

  /** Applies settled records: the done prefix becomes committable; a settled failure rewinds. */
  advance(): Advance {
    let commitTo: bigint | undefined;
    let committedRecords = 0;
    for (;;) {
      const record = this.#outstanding[committedRecords];
      if (record === undefined || stateOf(record) !== 'done') break;
      const handle = kafkaHandleOf(record);
      handle.settleState = undefined;
      commitTo = handle.offset + 1n;
      committedRecords += 1;
    }
    if (committedRecords > 0) this.#outstanding.splice(0, committedRecords);
    if (commitTo !== undefined && this.retry && this.retry.offset < commitTo)
      this.retry = undefined;
    let requeued = 0;
    const first = this.#outstanding[0];
    if (
      first !== undefined &&
      stateOf(first) === 'failed' &&
      this.#outstanding.every((r) => stateOf(r) !== 'pending')
    ) {
      const back = this.#outstanding;
      for (const r of back) kafkaHandleOf(r).settleState = undefined;
      this.#outstanding = [];
      this.#compact();
      this.#buffer.unshift(...back);
      for (const r of back) this.#bufferedBytes += r.sizeBytes;
      requeued = back.length;
    }
    if (commitTo !== undefined && this.committed !== undefined && commitTo <= this.committed) {
      commitTo = undefined; // another member (or an earlier commit) is already past it
      committedRecords = 0;
    }
    if (commitTo !== undefined) this.committed = commitTo;
    return { commitTo, committedRecords, requeued };
  }

  /**
   * The group's committed offset as read after a (re)assignment. Buffered records below it were
   * processed by another member meanwhile and are dropped; if it is ahead of everything this
   * process holds, the partition starts over from it.
   */
  syncCommitted(committed: bigint | undefined): void {
    if (committed === undefined) return;
    this.committed = committed;
    this.#compact();
    const before = this.#buffer.length;
    this.#buffer = this.#buffer.filter((r) => kafkaHandleOf(r).offset >= committed);
    if (this.#buffer.length !== before) {
      this.#bufferedBytes = this.#buffer.reduce((n, r) => n + r.sizeBytes, 0);
    }
    if (this.#lastKnown !== undefined && this.#lastKnown < committed - 1n) {
      this.#lastKnown = committed - 1n;
    }
  }

  /** Forgets everything held (revoked partition, stop). Returns the records dropped. */
  clear(): SourceRecord[] {
    this.#compact();
    for (const r of this.#outstanding) kafkaHandleOf(r).settleState = undefined;
    const dropped = [...this.#outstanding, ...this.#buffer];
    this.#outstanding = [];
    this.#buffer = [];
    this.#bufferedBytes = 0;
    this.#lastKnown = undefined;
    this.bisect = undefined;
    return dropped;
  }

  #compact(): void {
    if (this.#head === 0) return;
    this.#buffer = this.#buffer.slice(this.#head);
    this.#head = 0;
  }

  /** Messages between the committed offset and the log end (OffsetLag). */
  lag(): number | undefined {
    if (this.highWatermark === undefined) return undefined;
    const from = this.committed ?? this.position;
    if (from === undefined) return undefined;
    const lag = this.highWatermark - from;
    return lag > 0n ? Number(lag) : 0;
  }
}
