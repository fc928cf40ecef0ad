import type { Logger } from 'pino';
import type { Connector, SettleOutcome, SourceRecord } from '../connectors/types.ts';
import type { MappingMetrics } from '../observability/mapping-metrics.ts';
import type { BatchVerdict } from './batch-result.ts';
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
 * invoked or settling — the held-records gauge).
 *
 * `complete` is the end of an invoked batch in one call: the connector's failure policy for the
 * failed records (Kafka's retry limits, record age and bisection; RabbitMQ's bounded
 * redelivery), then one settle. The policy still comes in through the runner's options rather
 * than the connector seam; a seam method for it belongs to the step that makes brokers plugins.
 */
export class BatchSettlement {
  readonly #o: BatchSettlementOptions;
  #heldRecords = 0;

  constructor(options: BatchSettlementOptions) {
    this.#o = options;
  }

  /** Records received from the source (PolledEventCount, held-records gauge). */
  received(count: number): void {
    this.#o.metrics.polled.inc({ mapping: this.#o.mapping }, count);
    this.#heldRecords += count;
    this.#o.metrics.heldRecords.set({ mapping: this.#o.mapping }, this.#heldRecords);
  }

  /** Records no longer held: settled, or left to come back from the source on their own. */
  release(count: number): void {
    if (count === 0) return;
    this.#heldRecords = Math.max(0, this.#heldRecords - count);
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
    // Every list of the outcome holds records this mapping received (whatever lists it has).
    const count = Object.values(outcome).reduce<number>(
      (n, list) => n + (Array.isArray(list) ? list.length : 0),
      0,
    );
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
      this.release(count);
    }
  }
}
