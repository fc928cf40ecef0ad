import type { SourceRecord } from '../connectors/types.ts';

/**
 * Ordering by lane, on the engine side, in one place. A lane (Kafka partition, SQS FIFO message
 * group, RabbitMQ queue when ordered; '' = unordered) keeps its order because of three rules:
 *
 * 1. **A busy lane is not fetched.** A lane with a batch in flight stays busy until that batch is
 *    settled; every fetch carries the busy lanes (`FetchRequest.busyLanes`) and the connector
 *    holds their records back, so a lane's next batch sees the outcome of the last.
 * 2. **An ordered poller hands off one batch at a time** (`pipelineDepth` 1) and opens its next
 *    batching window only once that batch is settled (`BatchCollector.done`).
 * 3. **An ordered batch stops at its first failure** (`judgeBatch` with `ordered`): nothing after
 *    a failed record counts as succeeded.
 */
export class LaneOrder {
  readonly #busy = new Set<string>();

  /** Lanes with a batch in flight (rule 1), for `FetchRequest.busyLanes`. */
  get busyLanes(): ReadonlySet<string> {
    return this.#busy;
  }

  /** Marks the lanes of a batch busy (rule 1); returns how to free them once it is settled. */
  hold(records: readonly SourceRecord[]): () => void {
    const lanes = new Set(records.map((r) => r.lane).filter((l) => l !== ''));
    for (const lane of lanes) this.#busy.add(lane);
    return () => {
      for (const lane of lanes) this.#busy.delete(lane);
    };
  }
}

/**
 * Batches one poller may have between hand-off and settle (rule 2): 1 for ordered mappings;
 * otherwise the configured depth (default 2, so the next receive overlaps the previous invoke).
 */
export function pipelineDepth(ordered: boolean, configured: number | undefined): number {
  return ordered ? 1 : Math.max(1, configured ?? 2);
}
