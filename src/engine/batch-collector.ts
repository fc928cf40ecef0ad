import type { Connector, SourceRecord } from '../connectors/types.ts';

/** Lambda's payload cap for a batch, event metadata included. */
export const MAX_BATCH_BYTES = 6 * 1024 * 1024;
/** Bytes the event envelope adds around the records (`{"Records":[…]}` and separators). */
const ENVELOPE_BYTES = 512;

export interface CollectSettings {
  batchSize: number;
  /** Batching window; 0 = invoke as soon as records arrive. */
  windowMs: number;
  /**
   * Where the window starts. SQS: when collecting starts (the next window starts when the previous
   * invoke completes). Kafka and RabbitMQ: when the first record arrives.
   */
  windowStart: 'collect' | 'first-record';
  /** How long one fetch may wait for a first record (SQS long poll: 20 s). */
  idleWaitMs: number;
}

export interface CollectedBatch {
  records: SourceRecord[];
  /** Records that alone exceed the payload cap: they go to the failure path. */
  oversized: SourceRecord[];
  /** Fetches that returned nothing (scaling input). */
  emptyFetches: number;
}

/**
 * Gathers one batch for a poller: fetches until BatchSize, the window, or the 6 MB cap. Records
 * that would overflow the cap are carried to the poller's next batch instead of being returned to
 * the source (which would count as a receive). Aborting cuts the window short — a window never
 * blocks shutdown — and returns what was gathered.
 */
export class BatchCollector {
  #carry: SourceRecord[] = [];
  readonly #connector: Connector;
  readonly #now: () => number;

  constructor(connector: Connector, now: () => number = Date.now) {
    this.#connector = connector;
    this.#now = now;
  }

  /** Records held for the next batch (returned to the source on stop). */
  takeCarry(): SourceRecord[] {
    const carry = this.#carry;
    this.#carry = [];
    return carry;
  }

  async collect(
    settings: CollectSettings,
    signal: AbortSignal,
    busyLanes?: ReadonlySet<string>,
  ): Promise<CollectedBatch> {
    const records: SourceRecord[] = [];
    const oversized: SourceRecord[] = [];
    let bytes = ENVELOPE_BYTES;
    let emptyFetches = 0;
    let deadline = settings.windowStart === 'collect' ? this.#now() + settings.windowMs : Infinity;

    const accept = (incoming: SourceRecord[]): void => {
      for (const record of incoming) {
        if (record.sizeBytes + ENVELOPE_BYTES > MAX_BATCH_BYTES) oversized.push(record);
        else if (
          records.length < settings.batchSize &&
          bytes + record.sizeBytes + 1 <= MAX_BATCH_BYTES
        ) {
          records.push(record);
          bytes += record.sizeBytes + 1;
        } else this.#carry.push(record);
      }
    };
    accept(this.takeCarry());
    if (records.length > 0 && settings.windowStart === 'first-record')
      deadline = this.#now() + settings.windowMs;

    while (!signal.aborted && records.length < settings.batchSize && this.#carry.length === 0) {
      const now = this.#now();
      if (records.length > 0 && now >= deadline) break;
      const waitMs = records.length === 0 ? settings.idleWaitMs : Math.max(0, deadline - now);
      let fetched: SourceRecord[];
      try {
        fetched = await this.#connector.fetch({
          max: settings.batchSize - records.length,
          waitMs,
          signal,
          ...(busyLanes ? { busyLanes } : {}),
        });
      } catch (err) {
        if (signal.aborted) break;
        if (records.length > 0 || oversized.length > 0) return { records, oversized, emptyFetches };
        throw err;
      }
      if (fetched.length === 0) {
        emptyFetches += 1;
        // Nothing yet and nothing held: let the poller decide (scaling, back-off).
        if (records.length === 0) break;
        continue;
      }
      if (records.length === 0 && settings.windowStart === 'first-record')
        deadline = this.#now() + settings.windowMs;
      accept(fetched);
      if (settings.windowMs === 0) break;
    }
    return { records, oversized, emptyFetches };
  }
}
