import type { Logger } from 'pino';
import { SluiceError } from '../errors.ts';
import type { EngineMetrics } from '../observability/metrics.ts';
import { killSparesNow, stopSpares } from './spare-processes.ts';
import type {
  Environment,
  EnvironmentLogLine,
  EnvironmentOptions,
  FunctionSpec,
  InitializationType,
} from './types.ts';

export type EnvironmentFactory = (options: EnvironmentOptions) => Environment;

export interface EnvironmentPoolOptions {
  createEnvironment: EnvironmentFactory;
  onLog: (line: EnvironmentLogLine) => void;
  logger: Logger;
  metrics?: EngineMetrics;
  /** How often idle environments are checked for reclaim; default 1000 ms. */
  reclaimIntervalMs?: number;
  /** Injected clock for tests; default Date.now. */
  now?: () => number;
}

interface FunctionEnvironments {
  spec: FunctionSpec;
  /** Warm environments; the most recently used is at the end and is taken first. */
  idle: Environment[];
  busy: Set<Environment>;
  /** Provisioned environments wanted (kept warm, never reclaimed when idle). */
  provisioned: number;
  provisionedLive: Set<Environment>;
}

/** An environment handed out for one invoke; `cold` when it was created for it. */
export interface LeasedEnvironment {
  env: Environment;
  cold: boolean;
}

/**
 * Keeps the execution environments of every function: hands out a warm one when it has one (the
 * most recently used, so the rest age out), starts a new one otherwise, reclaims idle ones after
 * the function's idleTimeout, and keeps provisioned ones warm. The pool never holds more busy
 * environments than the invoker's reservations allow, so the concurrency ceiling also bounds it.
 */
export class EnvironmentPool {
  readonly #options: EnvironmentPoolOptions;
  readonly #functions = new Map<string, FunctionEnvironments>();
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;
  /** What `stop()` is shutting down (no longer in any idle list), for `killNow()`. */
  #shuttingDown: Environment[] = [];

  constructor(options: EnvironmentPoolOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#timer = setInterval(() => this.reclaimIdle(), options.reclaimIntervalMs ?? 1000);
    this.#timer.unref();
  }

  register(spec: FunctionSpec): void {
    const existing = this.#functions.get(spec.name);
    if (existing) existing.spec = spec;
    else {
      this.#functions.set(spec.name, {
        spec,
        idle: [],
        busy: new Set(),
        provisioned: 0,
        provisionedLive: new Set(),
      });
    }
  }

  /** Pre-initialises `count` environments (Lambda's provisioned concurrency) and waits for them. */
  async provision(functionName: string, count: number): Promise<void> {
    const fn = this.#get(functionName);
    fn.provisioned = count;
    const missing = count - fn.provisionedLive.size;
    await Promise.all(
      Array.from({ length: Math.max(0, missing) }, () => this.#startProvisioned(fn)),
    );
  }

  /** Takes a warm environment or starts a new one (cold). The caller must hold a reservation. */
  async acquire(functionName: string): Promise<LeasedEnvironment> {
    // SHUTDOWN, not a failure: work that reaches the pool after it stopped is ordinary at
    // shutdown (its records return to the source, its event stays queued), and callers log it so.
    if (this.#stopping)
      throw new SluiceError('SHUTDOWN', 'environment pool is stopped', {
        canRetry: true,
        context: { functionName },
      });
    const fn = this.#get(functionName);
    for (;;) {
      const env = fn.idle.pop();
      if (!env) break;
      if (env.state === 'idle') {
        fn.busy.add(env);
        this.#gauge(fn);
        return { env, cold: false };
      }
    }
    const env = this.#create(fn, 'on-demand');
    fn.busy.add(env);
    this.#gauge(fn);
    await env.init();
    return { env, cold: true };
  }

  /** Returns an environment after its invoke; a failed one is dropped (never re-used). */
  release(env: Environment): void {
    const fn = this.#functions.get(env.functionName);
    if (!fn) return;
    fn.busy.delete(env);
    if (env.state === 'idle' && !this.#stopping) fn.idle.push(env);
    else if (env.state !== 'dead') void env.shutdown('failure');
    this.#gauge(fn);
  }

  /** Shuts down on-demand environments idle for longer than their function's idleTimeout. */
  reclaimIdle(): void {
    const now = this.#now();
    for (const fn of this.#functions.values()) {
      const keep: Environment[] = [];
      for (const env of fn.idle) {
        const expired = now - env.lastUsedAt >= fn.spec.idleTimeoutMs;
        if (env.state !== 'idle') continue;
        if (expired && !fn.provisionedLive.has(env)) {
          this.#options.logger.debug(
            { function: fn.spec.name, environment: env.id },
            'reclaiming idle environment',
          );
          void env.shutdown('spindown');
        } else keep.push(env);
      }
      fn.idle = keep;
      this.#gauge(fn);
    }
  }

  counts(functionName: string): { idle: number; busy: number; provisioned: number } {
    const fn = this.#get(functionName);
    return { idle: fn.idle.length, busy: fn.busy.size, provisioned: fn.provisionedLive.size };
  }

  /**
   * Shuts every environment down (SHUTDOWN phase). Idempotent and awaitable. `graceMs` shortens
   * the SIGTERM→SIGKILL grace when the shutdown has little time left.
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    this.#stopping ??= (async () => {
      // Yield once so #stopping is assigned before any onDead callback asks whether we stop.
      await Promise.resolve();
      clearInterval(this.#timer);
      const all: Environment[] = [];
      for (const fn of this.#functions.values()) {
        all.push(...fn.idle, ...fn.busy);
        fn.idle = [];
      }
      this.#shuttingDown = all;
      await Promise.allSettled(all.map((env) => env.shutdown('spindown', options)));
      // The warm spare processes are the engine's, not one function's: they go with the pool.
      await stopSpares();
    })();
    return this.#stopping;
  }

  /**
   * SIGKILLs every environment's processes and the spares now, synchronously: the last resort
   * when a shutdown runs out of time, so no function process outlives the engine.
   */
  killNow(): void {
    clearInterval(this.#timer);
    const all = new Set(this.#shuttingDown);
    for (const fn of this.#functions.values())
      for (const env of [...fn.idle, ...fn.busy, ...fn.provisionedLive]) all.add(env);
    for (const env of all) env.killNow?.();
    killSparesNow();
  }

  #get(functionName: string): FunctionEnvironments {
    const fn = this.#functions.get(functionName);
    if (!fn)
      throw new Error(`function ${functionName} is not registered with the environment pool`);
    return fn;
  }

  async #startProvisioned(fn: FunctionEnvironments): Promise<void> {
    const env = this.#create(fn, 'provisioned-concurrency');
    fn.provisionedLive.add(env);
    await env.init();
    if (env.state === 'idle') fn.idle.unshift(env);
    this.#gauge(fn);
  }

  #create(fn: FunctionEnvironments, initializationType: InitializationType): Environment {
    const { metrics } = this.#options;
    metrics?.coldStarts.inc({ function: fn.spec.name, initialization_type: initializationType });
    return this.#options.createEnvironment({
      spec: fn.spec,
      initializationType,
      onLog: this.#options.onLog,
      onDead: (env) => this.#onDead(fn, env),
    });
  }

  #onDead(fn: FunctionEnvironments, env: Environment): void {
    fn.idle = fn.idle.filter((e) => e !== env);
    const wasProvisioned = fn.provisionedLive.delete(env);
    this.#gauge(fn);
    // A provisioned environment that failed is replaced, so the guarantee holds (as on Lambda).
    if (wasProvisioned && !this.#stopping && fn.provisionedLive.size < fn.provisioned) {
      this.#startProvisioned(fn).catch((err: unknown) =>
        this.#options.logger.warn(
          { err, function: fn.spec.name },
          'replacing a provisioned environment failed',
        ),
      );
    }
  }

  #gauge(fn: FunctionEnvironments): void {
    const g = this.#options.metrics?.environments;
    if (!g) return;
    g.set({ function: fn.spec.name, state: 'idle' }, fn.idle.length);
    g.set({ function: fn.spec.name, state: 'busy' }, fn.busy.size);
  }
}
