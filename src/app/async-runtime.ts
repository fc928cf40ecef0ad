import type { Logger } from 'pino';
import type { AsyncConfig, DestinationConfig, SluiceConfig } from '../config/types.ts';
import { ConnectionRegistry } from '../connections/connections.ts';
import { DestinationFactory } from '../destinations/destination-factory.ts';
import { parseDestinationUri } from '../destinations/destination-uri.ts';
import { SOURCE_PLUGINS } from './plugins.ts';
import type { Invoker } from '../invoker/invoker.ts';
import type { EngineMetrics } from '../observability/metrics.ts';
import type { StateStore } from '../store/state-store.ts';
import { AsyncQueue } from '../async/async-queue.ts';
import { AsyncWorker, type AsyncWorkerOptions } from '../async/async-worker.ts';
import { DeliverySender, type DeliverySenderOptions } from '../async/deliveries.ts';
import { EventInvokeConfigs } from '../async/event-invoke-configs.ts';

export interface AsyncRuntimeOptions {
  config: Pick<SluiceConfig, 'region' | 'accountId' | 'functions' | 'connections'>;
  invoker: Invoker;
  /** The engine's store; the runtime never closes it. */
  store: StateStore;
  logger: Logger;
  metrics?: EngineMetrics;
  /** Shared broker connections; when absent the runtime creates its own and closes them. */
  connections?: ConnectionRegistry;
  /** Tuning of the worker (poll interval, lease, in-flight caps). */
  worker?: Partial<
    Pick<
      AsyncWorkerOptions,
      'pollIntervalMs' | 'leaseMs' | 'maxInFlight' | 'batchSize' | 'maxDeliveriesInFlight' | 'now'
    >
  >;
  delivery?: Pick<DeliverySenderOptions, 'retries' | 'minTimeoutMs' | 'maxTimeoutMs'>;
  /** Back-pressure limit of the queue (429 beyond it); default none. */
  maxQueueDepth?: number;
}

/**
 * Asynchronous invocation, wired: queue (the API's `asyncSink`), worker, event-invoke-configs,
 * destinations. `start` loads stored overrides and starts the worker; `stop` stops the worker
 * and the destinations (and connections it created) in that order.
 */
export class AsyncRuntime {
  readonly queue: AsyncQueue;
  readonly worker: AsyncWorker;
  readonly configs: EventInvokeConfigs;
  readonly connections: ConnectionRegistry;
  readonly destinations: DestinationFactory;
  readonly #options: AsyncRuntimeOptions;
  readonly #ownsConnections: boolean;
  #stopping: Promise<void> | undefined;

  constructor(options: AsyncRuntimeOptions) {
    this.#options = options;
    const { config, store, logger, metrics, invoker } = options;
    this.#ownsConnections = options.connections === undefined;
    this.connections = options.connections ?? new ConnectionRegistry(config.connections, logger);
    this.queue = new AsyncQueue({
      store,
      ...(metrics ? { metrics } : {}),
      ...(options.worker?.now ? { now: options.worker.now } : {}),
      ...(options.maxQueueDepth === undefined ? {} : { maxDepth: options.maxQueueDepth }),
    });
    this.destinations = new DestinationFactory(this.connections, this.queue, SOURCE_PLUGINS);
    const fileConfigs: Record<string, AsyncConfig> = {};
    for (const [name, fn] of Object.entries(config.functions)) fileConfigs[name] = fn.async;
    this.configs = new EventInvokeConfigs({
      fileConfigs,
      store,
      ...(options.worker?.now ? { now: options.worker.now } : {}),
    });
    this.worker = new AsyncWorker({
      store,
      queue: this.queue,
      invoker,
      configs: this.configs,
      deliveries: new DeliverySender({
        destinations: this.destinations,
        logger,
        ...(metrics ? { metrics } : {}),
        ...options.delivery,
      }),
      region: config.region,
      accountId: config.accountId,
      logger,
      ...(metrics ? { metrics } : {}),
      ...options.worker,
    });
  }

  async start(): Promise<void> {
    await this.configs.load();
    await this.worker.start();
  }

  /** Resolves a Lambda `Destination` string against the config's connections and functions. */
  resolveDestination(uri: string): DestinationConfig {
    return parseDestinationUri(uri, {
      connections: this.#options.config.connections,
      hasFunction: (name) => this.#options.invoker.functionSpec(name) !== undefined,
      plugins: SOURCE_PLUGINS,
    });
  }

  /** Idempotent and awaitable; each step runs even if an earlier one failed. */
  stop(graceMs?: number): Promise<void> {
    this.#stopping ??= (async () => {
      await this.worker.stop(graceMs).catch(() => undefined);
      await this.destinations.stop().catch(() => undefined);
      if (this.#ownsConnections) await this.connections.stop().catch(() => undefined);
    })();
    return this.#stopping;
  }
}
