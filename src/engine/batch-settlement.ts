import type { Logger } from 'pino';
import type { Connector, SettleOutcome, SourceRecord } from '../connectors/types.ts';
import type { MappingMetrics } from '../observability/mapping-metrics.ts';
import type { BatchVerdict } from './batch-result.ts';
import { HeldRecords } from './held-records.ts';
import type { FailurePolicy } from './runner-settings.ts';

export interface BatchSettlementOptions {
  mapping: string;
  connector: Connector;
  failurePolicy?: FailurePolicy | undefined;
  metrics: MappingMetrics;
  logger: Logger;
}

/** What a batch carries besides its invoked records, settled with its verdict. */
export interface BatchRemainder {
  /** Records the filter dropped: settled as succeeded. */
  filteredOut: SourceRecord[];
  /** Records given up on before the invoke (MaximumPayloadSizeExceeded). */
  dropped: SettleOutcome['dropped'];
}

/**
 * The engine's end of a batch, at the source: every settle goes through here, and so does the
 * count of records the mapping holds (received and not settled yet: being gathered, waiting,
 * invoked or settling — the held-records gauge), and through `HeldRecords` their reservation at
 * the source, kept alive from receipt until their settle starts.
 *
 * `complete` is the end of an invoked batch in one call: the connector's failure policy for the
 * failed records (Kafka's retry limits, record age and bisection; RabbitMQ's bounded
 * redelivery), then one settle. The policy still comes in through the runner's options rather
 * than the connector seam; a seam method for it belongs to the step that makes brokers plugins.
 */
export class BatchSettlement {
  readonly #o: BatchSettlementOptions;
  readonly #reserved: HeldRecords;
  #heldRecords = 0;

  constructor(options: BatchSettlementOptions) {
    this.#o = options;
    this.#reserved = new HeldRecords({ connector: options.connector, logger: options.logger });
  }

  /** Records received from the source (PolledEventCount, held-records gauge, heartbeat). */
  received(records: readonly SourceRecord[]): void {
    this.#o.metrics.polled.inc({ mapping: this.#o.mapping }, records.length);
    this.#heldRecords += records.length;
    this.#o.metrics.heldRecords.set({ mapping: this.#o.mapping }, this.#heldRecords);
    this.#reserved.add(records);
  }

  /** Records no longer held: left to come back from the source on their own. */
  release(records: readonly SourceRecord[]): void {
    this.#reserved.remove(records);
    this.#count(records.length);
  }

  /** Stops keeping records reserved: the mapping stops and its connector closes. */
  stopHeartbeat(): void {
    this.#reserved.stop();
  }

  #count(settledOrReleased: number): void {
    if (settledOrReleased === 0) return;
    this.#heldRecords = Math.max(0, this.#heldRecords - settledOrReleased);
    this.#o.metrics.heldRecords.set({ mapping: this.#o.mapping }, this.#heldRecords);
  }

  /** The end of an invoked batch: the failure policy for its failed records, then the settle. */
  async complete(remainder: BatchRemainder, verdict: BatchVerdict): Promise<void> {
    const policy = this.#o.failurePolicy;
    const afterPolicy =
      verdict.failed.length > 0 && policy
        ? await policy(verdict.failed, verdict)
        : { failed: verdict.failed, dropped: [] };
    for (const d of afterPolicy.dropped)
      this.#o.metrics.dropped.inc({ mapping: this.#o.mapping, reason: d.reason });
    await this.settle({
      succeeded: [...remainder.filteredOut, ...verdict.succeeded],
      failed: afterPolicy.failed,
      dropped: [...remainder.dropped, ...afterPolicy.dropped],
    });
  }

  /** Records the filter dropped while a batching window stays open: settled now. */
  async settleFilteredOut(records: SourceRecord[]): Promise<void> {
    this.#o.metrics.filteredOut.inc({ mapping: this.#o.mapping }, records.length);
    await this.settle({ succeeded: records, failed: [], dropped: [] });
  }

  /** Applies an outcome at the source; never throws (unsettled records come back later). */
  async settle(outcome: SettleOutcome): Promise<void> {
    const m = this.#o.metrics;
    const mapping = this.#o.mapping;
    const records = outcomeRecords(outcome);
    // Their fate is decided: extending them now could only race the settle (or undo a release).
    this.#reserved.remove(records);
    try {
      await this.#o.connector.settle(outcome);
      if (outcome.succeeded.length > 0)
        m.settled.inc({ mapping, outcome: 'succeeded' }, outcome.succeeded.length);
      if (outcome.failed.length > 0)
        m.settled.inc({ mapping, outcome: 'failed' }, outcome.failed.length);
    } catch (err) {
      // Unsettled records come back from the source later (at-least-once): log, never crash.
      this.#o.logger.error(
        { err: (err as Error).message },
        'settling a batch failed; its records will be redelivered',
      );
    } finally {
      this.#count(records.length);
    }
  }
}

/** Every record of an outcome (every list holds records this mapping received). */
function outcomeRecords(outcome: SettleOutcome): SourceRecord[] {
  return [
    ...outcome.succeeded,
    ...outcome.failed,
    ...(outcome.released ?? []),
    ...outcome.dropped.map((d) => d.record),
  ];
}
