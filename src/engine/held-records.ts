import type { Logger } from 'pino';
import type { Connector, SourceRecord } from '../connectors/types.ts';

export interface HeldRecordsOptions {
  connector: Connector;
  logger: Logger;
  now?: () => number;
}

/**
 * Keeps every record a mapping holds reserved at its source (SQS visibility) from the moment it
 * is received until its settle starts — whatever stage it is in: buffered in a batching window
 * (up to 300 s), waiting at the invoke gate, invoked. A record whose reservation lapsed in a
 * window would be received again (a duplicate) and, counted as a receive, could be dead-lettered
 * although its batch succeeds.
 *
 * One timer per mapping, every `heartbeatIntervalMs` (a third of the visibility timeout), rather
 * than one per batch. A tick extends only records last reserved at least half an interval ago:
 * batches that settle quickly cost no extension at all, and a record still waits at most 1.5
 * intervals between reservations (half the visibility timeout), so one failed or late tick is
 * absorbed. Records are tracked only for connectors that can extend them (Kafka and RabbitMQ
 * keep their records without it), by identity: the records the pipeline settles are the objects
 * the source returned.
 */
export class HeldRecords {
  readonly #o: HeldRecordsOptions;
  readonly #now: () => number;
  /** Record → when its reservation was last set (receive or extension). */
  readonly #reservedAtMs = new Map<SourceRecord, number>();
  #timer: NodeJS.Timeout | undefined;
  #extending = false;
  #stopped = false;

  constructor(options: HeldRecordsOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Records being kept reserved now. */
  get size(): number {
    return this.#reservedAtMs.size;
  }

  /** Records just received: the source reserved them at receipt. */
  add(records: readonly SourceRecord[]): void {
    if (this.#stopped || !this.#o.connector.heartbeat || records.length === 0) return;
    const now = this.#now();
    for (const record of records) this.#reservedAtMs.set(record, now);
    this.#startTimer();
  }

  /** Records whose fate is decided (settling, released, given up): never extended again. */
  remove(records: readonly SourceRecord[]): void {
    if (this.#reservedAtMs.size === 0) return;
    for (const record of records) this.#reservedAtMs.delete(record);
    if (this.#reservedAtMs.size === 0) this.#stopTimer();
  }

  /** No more extensions (the mapping stops and its connector closes). Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#reservedAtMs.clear();
    this.#stopTimer();
  }

  #startTimer(): void {
    if (this.#timer) return;
    // Known once the connector has started (SQS reads the queue's VisibilityTimeout).
    const intervalMs = this.#o.connector.heartbeatIntervalMs;
    if (!intervalMs) return;
    this.#timer = setInterval(() => void this.#extendDue(intervalMs), intervalMs);
    // Never keeps the process alive on its own.
    this.#timer.unref();
  }

  #stopTimer(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Extends the records due; a tick while the previous call still runs is skipped. */
  async #extendDue(intervalMs: number): Promise<void> {
    if (this.#extending) return;
    const now = this.#now();
    const due: SourceRecord[] = [];
    for (const [record, reservedAtMs] of this.#reservedAtMs)
      if (now - reservedAtMs >= intervalMs / 2) due.push(record);
    if (due.length === 0) return;
    this.#extending = true;
    try {
      await this.#o.connector.heartbeat?.(due);
      // Records removed meanwhile stay removed.
      for (const record of due)
        if (this.#reservedAtMs.has(record)) this.#reservedAtMs.set(record, now);
    } catch (err) {
      // Due again at the next tick, well inside the visibility timeout.
      this.#o.logger.warn({ err: (err as Error).message }, 'heartbeat failed');
    } finally {
      this.#extending = false;
    }
  }
}
