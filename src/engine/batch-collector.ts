import { Batcher, type WindowMode } from '../batching/batcher.ts';
import type { Connector, SourceRecord } from '../connectors/types.ts';

/** Bytes the event envelope adds around the records (`{"Records":[…]}`, source fields). */
const ENVELOPE_BYTES = 512;
/** A poller batches its own records in a single lane; ordering lanes are the source's business. */
const LANE = 'poller';

export interface CollectSettings {
  batchSize: number;
  /** Batching window; 0 = invoke as soon as records arrive. */
  windowMs: number;
  /**
   * Where the window starts. SQS (`caller`): when the previous invoke completed. Kafka and
   * RabbitMQ (`first-record`): when the first record of the batch arrived.
   */
  windowMode: WindowMode;
  /** How long one fetch may wait for a first record (SQS long poll: 20 s). */
  idleWaitMs: number;
}

export interface CollectedBatch {
  records: SourceRecord[];
  /** A record that alone exceeds the payload cap: it goes to the failure path. */
  oversized: SourceRecord[];
  /** Fetches that returned nothing (scaling input). */
  emptyFetches: number;
}

/**
 * Gathers one batch for a poller: fetches from the connector until the pure `Batcher` releases a
 * batch (BatchSize, window or 6 MB). Records beyond a released batch stay buffered for the
 * poller's next batch rather than going back to the source (which would count as a receive).
 * Aborting cuts the window short — a window never blocks shutdown.
 */
export class BatchCollector {
  readonly #connector: Connector;
  readonly #now: () => number;
  #batcher: Batcher<SourceRecord> | undefined;
  #key = '';

  constructor(connector: Connector, now: () => number = Date.now) {
    this.#connector = connector;
    this.#now = now;
  }

  /** Records still buffered (returned to the source when the poller stops). */
  takeBuffered(): SourceRecord[] {
    return this.#batcher?.drain().flatMap((b) => b.records) ?? [];
  }

  /** Marks the released batch as handled, opening the next window (SQS semantics). */
  done(): void {
    this.#batcher?.markDone(LANE, this.#now());
  }

  async collect(
    settings: CollectSettings,
    signal: AbortSignal,
    busyLanes?: ReadonlySet<string>,
  ): Promise<CollectedBatch> {
    const batcher = this.#batcherFor(settings);
    let emptyFetches = 0;
    for (;;) {
      const now = this.#now();
      const [batch] = batcher.due(now);
      if (batch) {
        return batch.trigger === 'oversized'
          ? { records: [], oversized: batch.records, emptyFetches }
          : { records: batch.records, oversized: [], emptyFetches };
      }
      const buffered = batcher.laneSize(LANE);
      if (signal.aborted) {
        // Stopping: invoke what was gathered now; anything beyond one batch stays buffered and
        // goes back to the source when the poller exits.
        const [first, ...rest] = batcher.drain();
        for (const b of rest) batcher.add(LANE, b.records, now);
        batcher.markInFlight(LANE);
        if (first?.trigger === 'oversized')
          return { records: [], oversized: first.records, emptyFetches };
        return { records: first?.records ?? [], oversized: [], emptyFetches };
      }
      const deadline = batcher.nextDeadline(now);
      const waitMs =
        buffered === 0 || deadline === undefined
          ? settings.idleWaitMs
          : Math.max(0, deadline - now);
      let fetched: SourceRecord[];
      try {
        fetched = await this.#connector.fetch({
          max: Math.max(1, settings.batchSize - buffered),
          waitMs,
          signal,
          ...(busyLanes ? { busyLanes } : {}),
        });
      } catch (err) {
        if (signal.aborted) continue;
        throw err;
      }
      if (fetched.length === 0) {
        emptyFetches += 1;
        // Nothing buffered either: hand control back (scaling, back-off, stop checks).
        if (buffered === 0) {
          batcher.markInFlight(LANE);
          return { records: [], oversized: [], emptyFetches };
        }
        continue;
      }
      batcher.add(LANE, fetched, this.#now());
    }
  }

  #batcherFor(s: CollectSettings): Batcher<SourceRecord> {
    const key = `${s.batchSize}/${s.windowMs}/${s.windowMode}`;
    if (this.#batcher && key === this.#key) return this.#batcher;
    // Settings changed at run time: carry buffered records into a batcher with the new rules.
    const carried = this.takeBuffered();
    this.#key = key;
    this.#batcher = new Batcher<SourceRecord>({
      batchSize: s.batchSize,
      maximumBatchingWindowMs: s.windowMs,
      windowMode: s.windowMode,
      envelopeBytes: ENVELOPE_BYTES,
      sizeOf: (r) => r.sizeBytes + 1,
    });
    if (carried.length > 0) this.#batcher.add(LANE, carried, this.#now());
    return this.#batcher;
  }
}
