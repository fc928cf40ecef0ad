/**
 * Offset commits of one consumer: the latest commit per partition waits in `pending`; `flush` sends
 * everything pending in one call, one call at a time (commits are cumulative, so a later one
 * covers an earlier one). `schedule` coalesces: settles arriving within `intervalMs` of each other
 * share one commit, which is what keeps a busy mapping from writing an OffsetCommit (a write to
 * the broker's `__consumer_offsets` log) per batch. A refused commit (rebalance in progress,
 * fenced generation) stays pending for the next flush unless a newer one replaced it; partitions
 * no longer owned are skipped.
 */
import type { OffsetCommit } from './kafka-client-adapter.ts';

export interface CommitterOptions {
  commit(offsets: OffsetCommit[]): Promise<void>;
  /** False while a rebalance runs or before the consumer runs: commits wait. */
  canCommit(): boolean;
  owns(lane: string): boolean;
  onRefused(error: Error, lanes: string[]): void;
  /**
   * Records whose offsets the broker has now accepted. Counted here, not when the commit was
   * queued: until the broker has it, a crash redelivers them, so metrics that say what a crash
   * leaves to come back (polled − committed) must still count them.
   */
  onCommitted?(records: number): void;
  /** Longest a queued commit waits for others to join it, ms; 0 = commit on every settle. */
  intervalMs: number;
}

export class OffsetCommitter {
  readonly #o: CommitterOptions;
  readonly #pending = new Map<string, OffsetCommit>();
  /** Settled records each pending commit covers (summed over the commits it replaced). */
  readonly #pendingRecords = new Map<string, number>();
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: CommitterOptions) {
    this.#o = options;
  }

  queue(lane: string, commit: OffsetCommit, records = 0): void {
    this.#pending.set(lane, commit);
    this.#pendingRecords.set(lane, (this.#pendingRecords.get(lane) ?? 0) + records);
  }

  forget(lane: string): void {
    this.#pending.delete(lane);
    this.#pendingRecords.delete(lane);
  }

  /** Flushes within `intervalMs` (at once when it is 0); later calls join the waiting flush. */
  schedule(): void {
    if (this.#pending.size === 0) return;
    if (this.#o.intervalMs <= 0) {
      void this.flush();
      return;
    }
    // Not re-armed by later settles (a debounce would never commit under steady load), and
    // unref'd: a process on its way out flushes on stop, it is not held open by this timer.
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#o.intervalMs).unref();
  }

  /**
   * Resolves once everything queued so far was written (or refused and kept pending).
   * `evenWhileRebalancing` sends it although a rebalance has begun: the group accepts commits of
   * the ending generation until it re-forms, and records settled before it need not be redone.
   */
  flush(evenWhileRebalancing = false): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#chain = this.#chain.then(async () => {
      if (this.#pending.size === 0 || !(evenWhileRebalancing || this.#o.canCommit())) return;
      const batch = [...this.#pending.entries()].filter(([lane]) => this.#o.owns(lane));
      const records = new Map(batch.map(([lane]) => [lane, this.#pendingRecords.get(lane) ?? 0]));
      this.#pending.clear();
      // A partition no longer owned is another member's now: its records were never committed.
      this.#pendingRecords.clear();
      if (batch.length === 0) return;
      try {
        await this.#o.commit(batch.map(([, c]) => c));
        const total = [...records.values()].reduce((a, b) => a + b, 0);
        if (total > 0) this.#o.onCommitted?.(total);
      } catch (err) {
        for (const [lane, c] of batch) {
          if (!this.#pending.has(lane)) this.#pending.set(lane, c);
          const carried = (this.#pendingRecords.get(lane) ?? 0) + (records.get(lane) ?? 0);
          this.#pendingRecords.set(lane, carried);
        }
        this.#o.onRefused(
          err as Error,
          batch.map(([lane]) => lane),
        );
      }
    });
    return this.#chain;
  }
}
/** Wakes fetches waiting for records (new data, a rewind, stop) or their own timeout. */
export class Waiters {
  readonly #waiters = new Set<() => void>();

  wait(signal: AbortSignal, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(1, ms));
      signal.addEventListener('abort', done, { once: true });
      this.#waiters.add(done);
    });
  }

  notify(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
