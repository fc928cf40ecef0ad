import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { isSluiceError, SluiceError } from '../errors.ts';
import { newTraceHeader } from '../lambda/trace-id.ts';
import type { EngineMetrics } from '../observability/metrics.ts';
import { ThrottleError, type ConcurrencyController, type Reservation } from './concurrency.ts';
import type { EnvironmentPool } from './environment-pool.ts';
import type { FunctionSpec, InvokeRequest, InvokeResult } from './types.ts';

export interface InvokerOptions {
  concurrency: ConcurrencyController;
  pool: EnvironmentPool;
  logger: Logger;
  metrics?: EngineMetrics;
}

/**
 * What a caller passes to invoke. A request id and an X-Ray trace header are made when none is
 * given, so every mapping batch and every async invoke runs under its own trace, as on Lambda.
 */
export type InvokeInput = Omit<InvokeRequest, 'requestId'> & { requestId?: string };

export interface InvokeOptions {
  /**
   * 'throttle' (default, synchronous callers): over a ceiling → `ThrottleError` at once (429).
   * 'wait': queue for capacity (pollers, the async queue, the CLI).
   */
  whenFull?: 'throttle' | 'wait';
  signal?: AbortSignal;
}

/**
 * Runs invokes on environments within the concurrency ceilings. Two ways in: `invoke()` for a
 * single call, and reserve-then-run (`reserve`/`tryReserve` then `run`) for pollers. A poller
 * waits until the function *could* take a unit (`waitForCapacity`) before it pulls records, so it
 * never holds records it cannot invoke soon, and reserves only once it has a batch: an idle
 * poller (a 20 s long poll on an empty queue) holds no concurrency others could use.
 */
export class Invoker {
  readonly #functions = new Map<string, FunctionSpec>();
  readonly #options: InvokerOptions;
  readonly #inFlight = new Set<Promise<unknown>>();
  #stopped = false;

  constructor(options: InvokerOptions) {
    this.#options = options;
  }

  get concurrency(): ConcurrencyController {
    return this.#options.concurrency;
  }

  register(spec: FunctionSpec): void {
    this.#functions.set(spec.name, spec);
    this.#options.pool.register(spec);
  }

  functionSpec(name: string): FunctionSpec | undefined {
    return this.#functions.get(name);
  }

  functionNames(): string[] {
    return [...this.#functions.keys()];
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  tryReserve(functionName: string): Reservation {
    this.#check(functionName);
    try {
      return this.#options.concurrency.tryReserve(functionName);
    } catch (err) {
      if (err instanceof ThrottleError)
        this.#options.metrics?.throttles.inc({ function: functionName, reason: err.reason });
      throw err;
    }
  }

  reserve(functionName: string, signal?: AbortSignal): Promise<Reservation> {
    this.#check(functionName);
    return this.#options.concurrency.reserve(functionName, signal);
  }

  /** Resolves once `functionName` could take a unit (taking none); throws like `reserve`. */
  waitForCapacity(functionName: string, signal?: AbortSignal): Promise<void> {
    this.#check(functionName);
    return this.#options.concurrency.waitUntilAvailable(functionName, signal);
  }

  /** Runs one invoke with a reservation taken earlier; the reservation is released at the end. */
  run(reservation: Reservation, input: InvokeInput): Promise<InvokeResult> {
    const task = this.#run(reservation, input);
    this.#inFlight.add(task);
    void task.finally(() => this.#inFlight.delete(task)).catch(() => undefined);
    return task;
  }

  async invoke(
    functionName: string,
    input: InvokeInput,
    options: InvokeOptions = {},
  ): Promise<InvokeResult> {
    const reservation =
      options.whenFull === 'wait'
        ? await this.reserve(functionName, options.signal)
        : this.tryReserve(functionName);
    return this.run(reservation, input);
  }

  /** Waits for running invokes to finish, up to `timeoutMs`; returns how many were still running. */
  async drain(timeoutMs: number): Promise<number> {
    this.#stopped = true;
    const deadline = new Promise<'timeout'>((resolve) =>
      setTimeout(resolve, timeoutMs, 'timeout').unref(),
    );
    while (this.#inFlight.size > 0) {
      const winner = await Promise.race([Promise.allSettled([...this.#inFlight]), deadline]);
      if (winner === 'timeout') break;
    }
    return this.#inFlight.size;
  }

  async #run(reservation: Reservation, input: InvokeInput): Promise<InvokeResult> {
    const functionName = reservation.functionName;
    const { pool, metrics, logger } = this.#options;
    const request: InvokeRequest = {
      ...input,
      requestId: input.requestId ?? randomUUID(),
      traceId: input.traceId ?? newTraceHeader(),
    };
    metrics?.concurrentExecutions.inc({ function: functionName });
    try {
      const { env } = await pool.acquire(functionName);
      try {
        const result = await env.invoke(request);
        metrics?.invocations.inc({ function: functionName });
        metrics?.duration.observe({ function: functionName }, result.report.durationMs / 1000);
        if (result.report.initDurationMs !== undefined) {
          metrics?.initDuration.observe(
            { function: functionName },
            result.report.initDurationMs / 1000,
          );
        }
        if (!result.ok)
          metrics?.errors.inc({ function: functionName, error_type: result.error.errorType });
        return result;
      } finally {
        pool.release(env);
      }
    } catch (err) {
      // The pool refusing work because the engine stops is ordinary (the caller gives it back).
      const level = isSluiceError(err, 'SHUTDOWN') ? 'debug' : 'error';
      logger[level](
        { err, function: functionName, requestId: request.requestId },
        'invoke failed in the engine',
      );
      throw err instanceof SluiceError
        ? err
        : new SluiceError(
            'ENVIRONMENT_FAILED',
            `invoke of ${functionName} failed: ${String(err)}`,
            {
              cause: err,
              canRetry: true,
              context: { functionName, requestId: request.requestId },
            },
          );
    } finally {
      metrics?.concurrentExecutions.dec({ function: functionName });
      reservation.release();
    }
  }

  #check(functionName: string): void {
    if (this.#stopped)
      throw new SluiceError('SHUTDOWN', 'the engine is shutting down', { canRetry: true });
    if (!this.#functions.has(functionName)) {
      throw new SluiceError('FUNCTION_NOT_FOUND', `Function not found: ${functionName}`, {
        context: { functionName },
      });
    }
  }
}
