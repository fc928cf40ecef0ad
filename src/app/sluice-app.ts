import type { Logger } from 'pino';
import { ApiServer } from '../api/api-server.ts';
import { registerEventInvokeConfigRoutes } from '../api/event-invoke-config-routes.ts';
import { registerMappingRoutes } from '../api/mapping-routes.ts';
import { registerTagRoutes } from '../api/tag-routes.ts';
import { registerTriggers } from '../api/trigger-routes.ts';
import { AsyncRuntime } from './async-runtime.ts';
import type { SluiceConfig } from '../config/types.ts';
import { connectorFactory, sourceChecker } from './connector-registry.ts';
import { ConnectionRegistry } from '../connections/connections.ts';
import { ConcurrencyController } from '../invoker/concurrency.ts';
import { createEnvironment } from '../invoker/environment.ts';
import { EnvironmentPool, type EnvironmentFactory } from '../invoker/environment-pool.ts';
import { Invoker } from '../invoker/invoker.ts';
import type { EnvironmentLogLine } from '../invoker/types.ts';
import { createLogger } from '../observability/logger.ts';
import { MappingMetrics } from '../observability/mapping-metrics.ts';
import { EngineMetrics } from '../observability/metrics.ts';
import {
  applyStoredReservedConcurrency,
  persistReservedConcurrency,
} from './reserved-concurrency-overrides.ts';
import { SqliteStore } from '../store/sqlite-store.ts';
import type { StateStore } from '../store/state-store.ts';
import { MappingManager, type ConnectorFactory } from '../engine/mapping-manager.ts';
import { decideReadiness, type Readiness } from '../engine/readiness.ts';
import { stopBudget, within } from './shutdown-plan.ts';
import { storeMappingRepository } from './store-mapping-repository.ts';
import { SOURCE_PLUGINS } from './plugins.ts';

export interface EngineOptions {
  logger?: Logger;
  /** Replaces the child-process environments (unit tests). */
  createEnvironment?: EnvironmentFactory;
  /** Replaces the connectors built from the config (unit tests with the in-memory connector). */
  connectorFactory?: ConnectorFactory;
  /**
   * 'all' (default): API, async queue and worker, mappings. 'invoker': functions only — what
   * `sluice invoke` needs to run one invoke in-process without touching the store or brokers.
   */
  services?: 'all' | 'invoker';
  /** Receives every environment log line besides the logger (the CLI's `invoke` prints them). */
  onLog?: (line: EnvironmentLogLine) => void;
}

export type EngineState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

const notOpen = { ok: false, detail: 'the state store is not open' };

/** What a stop did, for the shutdown report. */
export interface StopReport {
  /** Mapping batches still running at the deadline (their records return to the source). */
  abandonedBatches: number;
  /** Invokes still running at the deadline (their environments were killed). */
  abandonedInvokes: number;
  durationMs: number;
}

/**
 * One running sluice: config → invoker (ceilings, environment pool) → API server, durable async
 * queue, event source mappings. Only the CLI installs signal handlers; the engine exposes
 * `start()` and an idempotent, awaitable `stop()`.
 */
export class Engine {
  readonly config: SluiceConfig;
  readonly logger: Logger;
  readonly metrics = new EngineMetrics({ processMetrics: true });
  readonly invoker: Invoker;
  readonly pool: EnvironmentPool;
  #store: StateStore | undefined;
  #connections: ConnectionRegistry | undefined;
  #async: AsyncRuntime | undefined;
  #mappings: MappingManager | undefined;
  #api: ApiServer | undefined;
  #state: EngineState = 'created';
  #stopping: Promise<StopReport> | undefined;
  readonly #options: EngineOptions;
  readonly #createdAt = Date.now();

  constructor(config: SluiceConfig, options: EngineOptions = {}) {
    this.config = config;
    this.#options = options;
    this.logger = options.logger ?? createLogger(config.logging);
    const functionLogger = this.logger.child({ component: 'function' });
    this.pool = new EnvironmentPool({
      createEnvironment: options.createEnvironment ?? createEnvironment,
      onLog: (line) => {
        functionLogger.info(
          {
            function: line.functionName,
            environment: line.environmentId,
            requestId: line.requestId,
            source: line.source,
          },
          line.text,
        );
        options.onLog?.(line);
      },
      logger: this.logger.child({ component: 'pool' }),
      metrics: this.metrics,
    });
    const reserved: Record<string, number> = {};
    for (const fn of Object.values(config.functions)) {
      if (fn.reservedConcurrency !== undefined) reserved[fn.name] = fn.reservedConcurrency;
    }
    this.invoker = new Invoker({
      concurrency: new ConcurrencyController({
        engineLimit: config.concurrency.limit,
        reserved,
        minimumUnreserved: config.concurrency.minimumUnreserved,
      }),
      pool: this.pool,
      logger: this.logger.child({ component: 'invoker' }),
      metrics: this.metrics,
    });
    for (const fn of Object.values(config.functions)) this.invoker.register(fn);
  }

  get state(): EngineState {
    return this.#state;
  }

  get api(): ApiServer | undefined {
    return this.#api;
  }

  get mappings(): MappingManager | undefined {
    return this.#mappings;
  }

  get asyncRuntime(): AsyncRuntime | undefined {
    return this.#async;
  }

  async start(): Promise<void> {
    this.#transition('starting');
    const all = (this.#options.services ?? 'all') === 'all';
    if (all) {
      const store = new SqliteStore({ path: this.config.storage.path });
      this.#store = store;
      await applyStoredReservedConcurrency(
        store,
        this.invoker.concurrency,
        (n) => this.invoker.functionSpec(n) !== undefined,
        this.logger,
      );
    }
    // Provisioned concurrency is ready before the first invoke can arrive (as on Lambda).
    await Promise.all(
      Object.values(this.config.functions)
        .filter((fn) => fn.provisionedConcurrency > 0)
        .map((fn) => this.pool.provision(fn.name, fn.provisionedConcurrency)),
    );
    if (all && this.#store) await this.#startServices(this.#store);
    this.#transition('running');
    this.logger.info(
      {
        functions: Object.keys(this.config.functions),
        mappings: this.config.mappings.map((m) => m.name),
        concurrencyLimit: this.config.concurrency.limit,
        startupMs: Date.now() - this.#createdAt,
      },
      'sluice started',
    );
  }

  async #startServices(store: StateStore): Promise<void> {
    const logger = this.logger;
    const connections = new ConnectionRegistry(
      this.config.connections,
      logger.child({ component: 'connections' }),
    );
    this.#connections = connections;
    const asyncRuntime = new AsyncRuntime({
      config: this.config,
      invoker: this.invoker,
      store,
      logger: logger.child({ component: 'async' }),
      metrics: this.metrics,
      connections,
    });
    this.#async = asyncRuntime;
    const connectorDeps = {
      config: this.config,
      connections,
      logger: logger.child({ component: 'connector' }),
      destinations: asyncRuntime.destinations,
      metricsRegistry: this.metrics.registry,
    };
    const mappings = new MappingManager({
      config: this.config,
      invoker: this.invoker,
      connectorFactory: this.#options.connectorFactory ?? connectorFactory(connectorDeps),
      // A test's own connector factory has no real sources to check.
      ...(this.#options.connectorFactory ? {} : { checkSource: sourceChecker(connectorDeps) }),
      plugins: SOURCE_PLUGINS,
      repository: storeMappingRepository(store),
      logger: logger.child({ component: 'mapping' }),
      metrics: new MappingMetrics(this.metrics.registry),
    });
    this.#mappings = mappings;
    const api = this.#buildApi(store, asyncRuntime, mappings);
    this.#api = api;
    const address = await api.start();
    logger.info({ ...address }, 'API listening');
    await asyncRuntime.start();
    // Mappings last: their sources retry in the background, so a broker that is down does not
    // hold up start-up (readiness says so instead).
    await mappings.start();
  }

  /** The API server with every route: Invoke and functions, event-invoke-configs, mappings, triggers. */
  #buildApi(store: StateStore, asyncRuntime: AsyncRuntime, mappings: MappingManager): ApiServer {
    const logger = this.logger;
    const api = new ApiServer({
      // host, port, token, the unauthenticated opt-in and the connection guards
      ...this.config.api,
      invoker: this.invoker,
      region: this.config.region,
      accountId: this.config.accountId,
      logger: logger.child({ component: 'api' }),
      metrics: this.metrics,
      asyncSink: asyncRuntime.queue,
      readiness: (strict) => this.readiness(strict),
      onReservedConcurrencyChange: persistReservedConcurrency(store),
    });
    registerEventInvokeConfigRoutes(api, {
      invoker: this.invoker,
      region: this.config.region,
      accountId: this.config.accountId,
      configs: asyncRuntime.configs,
      resolveDestination: (uri) => asyncRuntime.resolveDestination(uri),
    });
    // Tags live in the same store as the event-invoke-config overrides.
    registerTagRoutes(api, {
      store,
      region: this.config.region,
      accountId: this.config.accountId,
      hasFunction: (name) => this.invoker.functionSpec(name) !== undefined,
    });
    registerMappingRoutes(api, { mappings, config: this.config, plugins: SOURCE_PLUGINS });
    registerTriggers(api, {
      config: this.config,
      queue: asyncRuntime.queue,
      store,
      logger: logger.child({ component: 'trigger' }),
      registry: this.metrics.registry,
    });
    return api;
  }

  /**
   * The readiness contract (readiness.ts): unready when not running or the store cannot be read;
   * a mapping whose source is down is degraded, which fails readiness only when strict (the
   * `?strict=` of the request, else `api.readiness`).
   */
  readiness(strict?: boolean): Readiness {
    const all = (this.#options.services ?? 'all') === 'all';
    const store = this.#store?.health?.() ?? (all && !this.#store ? notOpen : { ok: true });
    return decideReadiness({
      engineState: this.#state,
      store,
      mappings: this.#mappings?.statuses() ?? [],
      strict: strict ?? this.config.api.readiness === 'strict',
    });
  }

  /**
   * Graceful stop, done by `deadlineMs`: stop polling and let in-flight batches settle, stop
   * accepting API requests, let running invokes finish — until the drain part of the budget
   * (shutdown-plan.ts `stopBudget`) — then shut every environment down, close the API, the
   * connections and the store in what is left. Every phase is bounded: one that overruns (a connector waiting on the
   * network, a process ignoring SIGTERM) is cut, never waited for. Idempotent and awaitable.
   */
  stop(deadlineMs = 30_000): Promise<StopReport> {
    this.#stopping ??= (async () => {
      await Promise.resolve();
      const started = Date.now();
      const budget = stopBudget(deadlineMs);
      const until = (offsetMs: number) => Math.max(0, offsetMs - (Date.now() - started));
      this.#transition('stopping');
      // Mappings, the async queue and running invokes drain side by side until the drain ends.
      const mappingsStopped =
        this.#mappings?.stop(budget.drainMs) ?? Promise.resolve({ abandonedBatches: 0 });
      const asyncStopped = this.#async?.stop(budget.drainMs);
      const invokesDrained = this.invoker.drain(budget.drainMs);
      // Requests in progress (a RequestResponse invoke) may finish while the work drains.
      const apiStopped = this.#api?.stop(budget.drainMs) ?? Promise.resolve();
      const mappingsDone = await within(mappingsStopped, until(budget.settledMs));
      const abandonedBatches = mappingsDone.done
        ? mappingsDone.value.abandonedBatches
        : this.#inFlightBatches();
      await this.#bounded('async queue', asyncStopped, until(budget.settledMs));
      const abandonedInvokes = await invokesDrained;
      const graceMs = Math.min(budget.environmentGraceMs, until(budget.environmentsMs));
      const poolDone = await within(this.pool.stop({ graceMs }), until(budget.environmentsMs));
      if (!poolDone.done) this.pool.killNow();
      await this.#bounded('API', apiStopped, until(budget.totalMs));
      await this.#bounded('connections', this.#connections?.stop(), until(budget.totalMs));
      await this.#store?.close();
      this.#transition('stopped');
      const report = { abandonedBatches, abandonedInvokes, durationMs: Date.now() - started };
      this.logger.info(report, 'sluice stopped');
      return report;
    })();
    return this.#stopping;
  }

  /**
   * The last resort of a shutdown out of time (the CLI's exit deadline): SIGKILLs every function
   * process and closes the store, synchronously, so nothing outlives the process and the store's
   * file is left consistent.
   */
  forceStop(): void {
    this.pool.killNow();
    void this.#store?.close().catch(() => undefined);
  }

  async #bounded(what: string, phase: Promise<unknown> | undefined, ms: number): Promise<void> {
    if (!phase) return;
    try {
      const outcome = await within(phase, ms);
      if (!outcome.done) this.logger.warn({ phase: what }, 'shutdown phase cut at its deadline');
    } catch (err) {
      this.logger.warn({ err, phase: what }, 'shutdown phase failed');
    }
  }

  #inFlightBatches(): number {
    return (this.#mappings?.statuses() ?? []).reduce((n, s) => n + s.inFlightBatches, 0);
  }

  #transition(next: EngineState): void {
    this.logger.debug({ from: this.#state, to: next }, 'engine state');
    this.#state = next;
  }
}
