import type { Logger } from 'pino';
import { ApiServer, type Readiness } from '../api/api-server.ts';
import type { AsyncInvokeSink } from '../api/invoke-route.ts';
import type { SluiceConfig } from '../config/types.ts';
import { ConcurrencyController } from '../invoker/concurrency.ts';
import { createEnvironment } from '../invoker/environment.ts';
import { EnvironmentPool, type EnvironmentFactory } from '../invoker/environment-pool.ts';
import { Invoker } from '../invoker/invoker.ts';
import type { EnvironmentLogLine } from '../invoker/types.ts';
import { createLogger } from '../observability/logger.ts';
import { EngineMetrics } from '../observability/metrics.ts';

export interface EngineOptions {
  logger?: Logger;
  /** Replaces the child-process environments (unit tests). */
  createEnvironment?: EnvironmentFactory;
  /** Start the HTTP API (default true). `sluice invoke` without a running engine skips it. */
  api?: boolean;
  /** Receives every environment log line besides the logger (the CLI's `invoke` prints them). */
  onLog?: (line: EnvironmentLogLine) => void;
}

export type EngineState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped';

/** What a stop did, for the shutdown report. */
export interface StopReport {
  /** Invokes still running when the deadline passed (their environments were killed). */
  abandonedInvokes: number;
  durationMs: number;
}

/**
 * Wires one running sluice: config → invoker (ceilings, environment pool) → API server. Later
 * parts (async queue, mappings, triggers) plug in at `start()`. Only the CLI installs signal
 * handlers; the engine exposes `stop()`.
 */
export class Engine {
  readonly config: SluiceConfig;
  readonly logger: Logger;
  readonly metrics = new EngineMetrics({ processMetrics: true });
  readonly invoker: Invoker;
  readonly pool: EnvironmentPool;
  #api: ApiServer | undefined;
  #state: EngineState = 'created';
  #stopping: Promise<StopReport> | undefined;
  readonly #options: EngineOptions;
  readonly #startedAt = Date.now();

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

  /** The API server's address once started. */
  get apiAddress(): { host: string; port: number } | undefined {
    return this.#api?.address();
  }

  async start(parts: { asyncSink?: AsyncInvokeSink } = {}): Promise<void> {
    this.#transition('starting');
    // Provisioned concurrency is ready before the first invoke can arrive (as on Lambda).
    await Promise.all(
      Object.values(this.config.functions)
        .filter((fn) => fn.provisionedConcurrency > 0)
        .map((fn) => this.pool.provision(fn.name, fn.provisionedConcurrency)),
    );
    if (this.#options.api !== false) {
      this.#api = new ApiServer({
        host: this.config.api.host,
        port: this.config.api.port,
        authToken: this.config.api.authToken,
        invoker: this.invoker,
        region: this.config.region,
        accountId: this.config.accountId,
        logger: this.logger.child({ component: 'api' }),
        metrics: this.metrics,
        asyncSink: parts.asyncSink,
        readiness: () => this.readiness(),
      });
      const address = await this.#api.start();
      this.logger.info({ ...address }, 'API listening');
    }
    this.#transition('running');
    this.logger.info(
      {
        functions: Object.keys(this.config.functions),
        concurrencyLimit: this.config.concurrency.limit,
        startupMs: Date.now() - this.#startedAt,
      },
      'sluice started',
    );
  }

  get api(): ApiServer | undefined {
    return this.#api;
  }

  readiness(): Readiness {
    const running = this.#state === 'running';
    return { ready: running, checks: { engine: { ok: running, detail: this.#state } } };
  }

  /**
   * Graceful stop: refuse new work, let in-flight invokes finish within `deadlineMs`, then shut
   * every environment down (those still running are killed). Idempotent and awaitable.
   */
  stop(deadlineMs = 30_000): Promise<StopReport> {
    this.#stopping ??= (async () => {
      await Promise.resolve();
      const started = Date.now();
      this.#transition('stopping');
      const apiStopped = this.#api?.stop();
      const abandoned = await this.invoker.drain(deadlineMs);
      await this.pool.stop();
      await apiStopped;
      this.#transition('stopped');
      const report = { abandonedInvokes: abandoned, durationMs: Date.now() - started };
      this.logger.info(report, 'sluice stopped');
      return report;
    })();
    return this.#stopping;
  }

  #transition(next: EngineState): void {
    this.logger.debug({ from: this.#state, to: next }, 'engine state');
    this.#state = next;
  }
}
