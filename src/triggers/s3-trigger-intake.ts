import type { TriggerConfig } from '../config/types.ts';
import type { AsyncInvokeQueue } from '../lambda/async-invocation.ts';
import type { TriggerDedupStore } from '../store/state-store.ts';
import { mismatchReason } from './s3-event-match.ts';
import { lambdaS3Event, recordIdentity } from './s3-lambda-event.ts';
import type { S3Record } from './s3-notification.ts';
import type { TriggerMetrics } from './trigger-metrics.ts';

/**
 * How long an accepted record is remembered: a push of the same record (same bucket, key, event,
 * sequencer/versionId) within this window is acknowledged and not invoked again. One hour covers
 * the retries of every pusher we know (MinIO's queue_dir replays within seconds of sluice coming
 * back; SNS HTTP retry policies give up within an hour) while keeping the table small: at
 * 1 000 records/s it holds 3.6 M keys of ~60 bytes. Beyond the window a repeat is invoked again
 * (at-least-once, as on Lambda).
 */
export const DEFAULT_DEDUP_WINDOW_MS = 60 * 60_000;
/** Expired keys are deleted at most this often, on the request path (no timer to stop). */
const PURGE_INTERVAL_MS = 60_000;

export interface S3TriggerIntakeOptions {
  trigger: Pick<TriggerConfig, 'name' | 'functionName' | 'events' | 'filter'>;
  /** Filled in as `awsRegion` when the sender has none (MinIO without a region). */
  region: string;
  queue: AsyncInvokeQueue;
  dedup: TriggerDedupStore;
  metrics: TriggerMetrics;
  /** Default {@link DEFAULT_DEDUP_WINDOW_MS}. */
  dedupWindowMs?: number;
  /** Injected clock; default Date.now. */
  now?: () => number;
}

/** What one push came to. */
export interface IntakeResult {
  /** Records queued as new asynchronous invokes. */
  queued: number;
  duplicates: number;
  filtered: number;
}

/**
 * Turns one trigger's notification records into durable asynchronous invokes, each invoked once
 * per dedup window. Order per record: (1) seen within the window → duplicate; (2) enqueue with
 * the identity as the queue's idempotency key — committed before this resolves, so the pusher's
 * 2xx comes after the durable write; (3) remember the identity. A crash between (2) and (3) at
 * worst lets a retry through while the row is done (invoked twice, at-least-once); while the row
 * is queued the queue's own key still drops it. Never the reverse order: remembering first and
 * crashing before the enqueue would drop a record the pusher retries.
 */
export class S3TriggerIntake {
  readonly #o: S3TriggerIntakeOptions;
  readonly #now: () => number;
  readonly #windowMs: number;
  /** Identities a concurrent push in this process is queuing (one record pushed twice at once). */
  readonly #inFlight = new Map<string, Promise<void>>();
  #lastPurgeMs = Number.NEGATIVE_INFINITY;

  constructor(options: S3TriggerIntakeOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#windowMs = options.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS;
  }

  /** Queues the matching records in order; rejects (nothing more queued) on the first failure. */
  async accept(records: readonly S3Record[]): Promise<IntakeResult> {
    const { trigger, metrics } = this.#o;
    const labels = { trigger: trigger.name };
    const result: IntakeResult = { queued: 0, duplicates: 0, filtered: 0 };
    await this.#maybePurge();
    for (const record of records) {
      metrics.received.inc(labels);
      const reason = mismatchReason(trigger, record.eventName, record.object.key);
      if (reason !== undefined) {
        metrics.filtered.inc({ ...labels, reason });
        result.filtered += 1;
        continue;
      }
      if (await this.#queueOnce(record)) {
        metrics.matched.inc(labels);
        result.queued += 1;
      } else {
        metrics.duplicates.inc(labels);
        result.duplicates += 1;
      }
    }
    return result;
  }

  /** True when queued now, false when a duplicate. */
  async #queueOnce(record: S3Record): Promise<boolean> {
    const identity = recordIdentity(this.#o.trigger.name, record);
    const pending = this.#inFlight.get(identity);
    if (pending) {
      // The first push's outcome decides: if it failed, this one fails too and is retried.
      await pending;
      return false;
    }
    if (await this.#o.dedup.triggerDedupSeen(identity, this.#now())) return false;
    const work = this.#enqueue(record, identity);
    this.#inFlight.set(identity, work);
    try {
      await work;
      return true;
    } finally {
      this.#inFlight.delete(identity);
    }
  }

  async #enqueue(record: S3Record, identity: string): Promise<void> {
    const { queue, dedup, trigger, region } = this.#o;
    await queue.enqueue({
      functionName: trigger.functionName,
      payload: Buffer.from(JSON.stringify(lambdaS3Event(record, region))),
      requestId: crypto.randomUUID(),
      idempotencyKey: identity,
    });
    await dedup.triggerDedupRemember(identity, this.#now() + this.#windowMs);
  }

  async #maybePurge(): Promise<void> {
    const now = this.#now();
    if (now - this.#lastPurgeMs < PURGE_INTERVAL_MS) return;
    this.#lastPurgeMs = now;
    await this.#o.dedup.triggerDedupPurge(now);
  }
}
