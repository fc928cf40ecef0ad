import type { Logger } from 'pino';
import type { AsyncConfig } from '../config/types.ts';
import type { Invoker } from '../invoker/invoker.ts';
import type { EngineMetrics } from '../observability/metrics.ts';
import type { AsyncQueueStore } from '../store/state-store.ts';
import type { AsyncQueue } from './async-queue.ts';
import type { DeliverySender } from './deliveries.ts';

/** What an `AsyncWorker` is given: its store, invoker and destinations, and its limits. */
export interface AsyncWorkerOptions {
  store: AsyncQueueStore;
  /** Wakes the worker on every enqueue. */
  queue: AsyncQueue;
  invoker: Invoker;
  /** The effective async config of a function (file + API overrides). */
  configs: { get(functionName: string): AsyncConfig | undefined };
  deliveries: DeliverySender;
  region: string;
  accountId: string;
  logger: Logger;
  metrics?: EngineMetrics;
  /** Injected clock (epoch ms); default Date.now. */
  now?: () => number;
  /** Injected randomness for backoff jitter; default Math.random. */
  random?: () => number;
  /** Longest sleep between looks at the queue when nothing wakes the worker; default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * How long a leased row stays invisible to others; renewed every third of it while the row is
   * worked on, so only a dead or hung engine lets it lapse. Default 60 000 ms.
   */
  leaseMs?: number;
  /** Most events invoked at once by this worker (within the concurrency ceilings). Default 1000. */
  maxInFlight?: number;
  /** Most rows leased per function per look (one store write). Default 100. */
  batchSize?: number;
  /** Most rows in delivery at once. Default 64. */
  maxDeliveriesInFlight?: number;
  /** Lease owner id; default a fresh UUID per worker. */
  ownerId?: string;
}
