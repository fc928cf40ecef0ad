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
  /** Records that passed the filter, for one invoke. */
  records: SourceRecord[];
  /** A matching record that alone exceeds the payload cap: it goes to the failure path. */
  oversized: SourceRecord[];
  /** Records the filter dropped, to be settled as succeeded with this batch. */
  filteredOut: SourceRecord[];
  /**
   * Records this batch stands for at the source: `records` plus every record filtered out while
   * gathering it (also those settled along the way). Scaling and the tuner read it as the poll's
   * size — a backlog of records that all get filtered out is still a backlog.
   */
  polledCount: number;
  /** Fetches that returned nothing (scaling input). */
  emptyFetches: number;
}

/** What the collector does with records as they arrive, before the batcher sees them. */
export interface CollectorHooks {
  /** The mapping's filter; absent = every record matches. */
  filter?: (record: SourceRecord) => boolean;
  /**
   * Records the filter dropped while a batch still gathers (a batching window is open): settle
   * them now rather than hold them through the window. Resolves once settled; never throws.
   */
  settleFilteredOut?: (records: SourceRecord[]) => Promise<void>;
  /** Records received from the source (PolledEventCount, held-records gauge, heartbeat). */
  onFetched?: (records: SourceRecord[]) => void;
}

/**
 * Gathers one batch for a poller: fetches from the connector, filters, and feeds the matching
 * records to the pure `Batcher` until it releases a batch (BatchSize, window or 6 MB). Records
 * beyond a released batch stay buffered for the poller's next batch rather than going back to
 * the source (which would count as a receive). Aborting cuts the window short — a window never
 * blocks shutdown.
 *
 * Filtering comes first (records → filter → batcher, as Lambda): a record the filter drops never
 * counts toward BatchSize nor meets the 6 MB cap — Lambda "includes the record in the next event
 * it sends" only if it satisfies a filter, and a batch is released at BatchSize / window / 6 MB
 * of what it sends (shared/reference/lambda-esm.md §1–2; AWS "Control which events Lambda sends
 * to your function"). Dropped records are settled as succeeded: with the batch that the same
 * fetch completes, or at once (`settleFilteredOut`) when a window stays open, so none is held
 * through a window. Settling them ahead of earlier records is safe on every source: Kafka
 * commits only the contiguous settled prefix (connectors/kafka/offset-tracker.ts), RabbitMQ acks
 * with `multiple` only for a contiguous run (ack-plan.ts), SQS deletes each message alone.
 */
export class BatchCollector {
  readonly #connector: Connector;
  readonly #now: () => number;
  readonly #hooks: CollectorHooks;
  #batcher: Batcher<SourceRecord> | undefined;
  #key = '';

  constructor(connector: Connector, now: () => number = Date.now, hooks: CollectorHooks = {}) {
    this.#connector = connector;
    this.#now = now;
    this.#hooks = hooks;
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
    let filteredOut: SourceRecord[] = [];
    let filteredCount = 0;
    const result = (records: SourceRecord[], oversized: SourceRecord[]): CollectedBatch => ({
      records,
      oversized,
      filteredOut,
      polledCount: records.length + oversized.length + filteredCount,
      emptyFetches,
    });
    for (;;) {
      const now = this.#now();
      const [batch] = batcher.due(now);
      if (batch) {
        return batch.trigger === 'oversized'
          ? result([], batch.records)
          : result(batch.records, []);
      }
      const buffered = batcher.laneSize(LANE);
      if (signal.aborted) {
        const first = takeOneBatch(batcher, now);
        if (first?.trigger === 'oversized') return result([], first.records);
        return result(first?.records ?? [], []);
      }
      if (filteredOut.length > 0) {
        // Nothing matched: hand the dropped records back to be settled now (like an empty poll).
        if (buffered === 0) {
          batcher.markInFlight(LANE);
          return result([], []);
        }
        // A window is open: settle them now rather than hold them through it.
        const settle = filteredOut;
        filteredOut = [];
        await this.#hooks.settleFilteredOut?.(settle);
        continue;
      }
      const waitMs = fetchWaitMs(batcher, buffered, now, settings.idleWaitMs);
      const fetched = await this.#fetch(settings, buffered, waitMs, signal, busyLanes);
      if (fetched === undefined) continue;
      if (fetched.length === 0) {
        emptyFetches += 1;
        // Nothing buffered either: hand control back (scaling, back-off, stop checks).
        if (buffered === 0) {
          batcher.markInFlight(LANE);
          return result([], []);
        }
        continue;
      }
      this.#hooks.onFetched?.(fetched);
      const matched = this.#split(fetched, filteredOut);
      filteredCount += fetched.length - matched.length;
      batcher.add(LANE, matched, this.#now());
    }
  }

  /** One fetch for the batch; undefined when it failed because the poller is stopping. */
  async #fetch(
    settings: CollectSettings,
    buffered: number,
    waitMs: number,
    signal: AbortSignal,
    busyLanes: ReadonlySet<string> | undefined,
  ): Promise<SourceRecord[] | undefined> {
    try {
      return await this.#connector.fetch({
        // BatchSize counts matching records only: the filtered-out ones are not buffered.
        max: Math.max(1, settings.batchSize - buffered),
        waitMs,
        signal,
        ...(busyLanes ? { busyLanes } : {}),
      });
    } catch (err) {
      if (signal.aborted) return undefined;
      throw err;
    }
  }

  /** The records that pass the filter; the others are appended to `filteredOut`. */
  #split(fetched: SourceRecord[], filteredOut: SourceRecord[]): SourceRecord[] {
    const filter = this.#hooks.filter;
    if (filter === undefined) return fetched;
    const matched: SourceRecord[] = [];
    for (const record of fetched) (filter(record) ? matched : filteredOut).push(record);
    return matched;
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

/**
 * Stopping: the first batch gathered, to invoke now; anything beyond it stays buffered and goes
 * back to the source when the poller exits.
 */
function takeOneBatch(batcher: Batcher<SourceRecord>, nowMs: number) {
  const [first, ...rest] = batcher.drain();
  for (const b of rest) batcher.add(LANE, b.records, nowMs);
  batcher.markInFlight(LANE);
  return first;
}

/** Until the open window closes; the whole idle wait when nothing is buffered (no window yet). */
function fetchWaitMs(
  batcher: Batcher<SourceRecord>,
  buffered: number,
  nowMs: number,
  idleWaitMs: number,
): number {
  const deadline = batcher.nextDeadline(nowMs);
  return buffered === 0 || deadline === undefined ? idleWaitMs : Math.max(0, deadline - nowMs);
}
