import { ThrottleError } from '../invoker/concurrency.ts';
import type { EngineMetrics } from '../observability/metrics.ts';
import type { AsyncQueueStore } from '../store/state-store.ts';
import type { AsyncInvocation, AsyncInvokeQueue } from '../lambda/async-invocation.ts';

export interface AsyncQueueOptions {
  store: AsyncQueueStore;
  metrics?: EngineMetrics;
  /** Injected clock; default Date.now. */
  now?: () => number;
  /**
   * Back-pressure: with this many events queued, `enqueue` refuses with a throttle (the API
   * answers 429) instead of growing the store without bound. Default: no limit.
   */
  maxDepth?: number;
}

/**
 * The durable queue of asynchronous invocations (`Invoke` with `Event`). `enqueue` resolves only
 * after the row is committed to the store, so the 202 the API then sends is a promise kept even
 * if the engine is killed the next instant. Listeners (the worker) are told at once, so an event
 * does not wait for the next poll.
 */
export class AsyncQueue implements AsyncInvokeQueue {
  readonly #options: AsyncQueueOptions;
  readonly #now: () => number;
  readonly #listeners = new Set<() => void>();

  constructor(options: AsyncQueueOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async enqueue(input: AsyncInvocation): Promise<void> {
    const { store, metrics, maxDepth } = this.#options;
    if (maxDepth !== undefined && (await store.depth()) >= maxDepth) {
      throw new ThrottleError(
        input.functionName,
        'ConcurrentInvocationLimitExceeded',
        `The asynchronous invocation queue is full (${maxDepth} events); retry later.`,
      );
    }
    const inserted = await store.enqueue({
      functionName: input.functionName,
      payload: input.payload,
      requestId: input.requestId,
      ...(input.traceId === undefined ? {} : { traceId: input.traceId }),
      receivedAtMs: this.#now(),
      ...(input.idempotencyKey === undefined ? {} : { idempotencyKey: input.idempotencyKey }),
    });
    if (!inserted) return;
    metrics?.asyncEventsReceived.inc({ function: input.functionName });
    for (const listener of this.#listeners) listener();
  }

  /** Events queued (waiting, retrying or awaiting delivery). */
  depth(): Promise<number> {
    return this.#options.store.depth();
  }

  /** Calls `listener` after every accepted event; returns the unsubscribe function. */
  onEnqueue(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
