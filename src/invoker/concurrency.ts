import { SluiceError } from '../errors.ts';
import { CountingSemaphore } from './counting-semaphore.ts';

/** Lambda's `Reason` values for a 429 `TooManyRequestsException`. */
export type ThrottleReason =
  | 'ConcurrentInvocationLimitExceeded'
  | 'ReservedFunctionConcurrentInvocationLimitExceeded'
  | 'CallerConcurrencyLimitExceeded';

/** A refused invoke: sync callers turn it into 429, pollers and the async queue back off. */
export class ThrottleError extends SluiceError {
  readonly reason: ThrottleReason;
  constructor(functionName: string, reason: ThrottleReason, message: string) {
    super('THROTTLED', message, { context: { functionName, reason }, canRetry: true });
    this.name = 'ThrottleError';
    this.reason = reason;
  }
}

/** A held unit of concurrency; `release()` is idempotent. */
export interface Reservation {
  readonly functionName: string;
  release(): void;
}

export interface ConcurrencyLimits {
  /** Engine-wide ceiling (Lambda's account limit); default 1000. */
  engineLimit: number;
  /** Reserved concurrency per function (cap and guarantee). */
  reserved: Record<string, number>;
  /**
   * Concurrency that must stay unreserved. Lambda keeps 100; the config compiler decides the
   * figure for small engine limits.
   */
  minimumUnreserved: number;
}

export interface ConcurrencySnapshot {
  engineLimit: number;
  unreservedLimit: number;
  unreservedInUse: number;
  inUse: number;
  functions: Record<string, { reserved?: number; inUse: number }>;
}

/**
 * The nested ceilings of Lambda: engine ⊇ reserved concurrency of a function. A function with a
 * reservation draws only from its own pool (a cap and a guarantee); the rest share what is left
 * unreserved. Callers nest further limits (a mapping's maximum concurrency) outside this class.
 */
export class ConcurrencyController {
  readonly #engineLimit: number;
  readonly #minimumUnreserved: number;
  readonly #unreserved: CountingSemaphore;
  readonly #reservedPools = new Map<string, CountingSemaphore>();
  readonly #inUse = new Map<string, number>();

  constructor(limits: ConcurrencyLimits) {
    this.#engineLimit = limits.engineLimit;
    this.#minimumUnreserved = limits.minimumUnreserved;
    for (const [name, n] of Object.entries(limits.reserved)) {
      this.#reservedPools.set(name, new CountingSemaphore(n));
    }
    this.#unreserved = new CountingSemaphore(this.#engineLimit - this.#reservedSum());
    if (this.#unreserved.limit < this.#minimumUnreserved) {
      throw new SluiceError(
        'CONFIG_INVALID',
        `reserved concurrency totals ${this.#reservedSum()} of the engine limit ${this.#engineLimit}; at least ${this.#minimumUnreserved} must stay unreserved`,
      );
    }
  }

  get engineLimit(): number {
    return this.#engineLimit;
  }

  reservedConcurrency(functionName: string): number | undefined {
    return this.#reservedPools.get(functionName)?.limit;
  }

  /** Takes a unit now or throws `ThrottleError` (synchronous callers). */
  tryReserve(functionName: string): Reservation {
    const pool = this.#poolOf(functionName);
    if (!pool.tryAcquire()) throw this.#throttle(functionName, pool);
    return this.#hold(functionName, pool);
  }

  /** Waits for a unit (pollers, queued callers); rejects when `signal` aborts. */
  async reserve(functionName: string, signal?: AbortSignal): Promise<Reservation> {
    const pool = this.#poolOf(functionName);
    if (pool.limit === 0) throw this.#throttle(functionName, pool); // would wait forever
    await pool.acquire(signal);
    return this.#hold(functionName, pool);
  }

  /**
   * Resolves once `functionName` could take a unit, without taking one (pollers, before they
   * pull records the unit will be needed for). Throws `ThrottleError` at once for a function with
   * reserved concurrency 0, like `reserve`; rejects when `signal` aborts.
   */
  async waitUntilAvailable(functionName: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const pool = this.#poolOf(functionName);
      if (pool.limit === 0) throw this.#throttle(functionName, pool); // would wait forever
      if (pool.inUse < pool.limit) return;
      // Woken when a unit frees, or when `setReserved` moves the function to another pool.
      await pool.whenAvailable(signal);
    }
  }

  /**
   * Sets (or with `undefined` removes) a function's reserved concurrency at run time (Lambda's
   * PutFunctionConcurrency). Units held keep counting against the pool they came from.
   */
  setReserved(functionName: string, reserved: number | undefined): void {
    const before = this.#poolOf(functionName);
    const current = this.#reservedPools.get(functionName)?.limit ?? 0;
    const nextSum = this.#reservedSum() - current + (reserved ?? 0);
    if (this.#engineLimit - nextSum < this.#minimumUnreserved) {
      throw new SluiceError(
        'INVALID_REQUEST',
        `ReservedConcurrentExecutions ${reserved} for ${functionName} decreases the unreserved concurrency below its minimum value of ${this.#minimumUnreserved}`,
        { context: { functionName, reserved } },
      );
    }
    if (reserved === undefined) this.#reservedPools.delete(functionName);
    else {
      const pool = this.#reservedPools.get(functionName);
      if (pool) pool.setLimit(reserved);
      else this.#reservedPools.set(functionName, new CountingSemaphore(reserved));
    }
    this.#unreserved.setLimit(this.#engineLimit - nextSum);
    // Those waiting to be able to reserve re-check: the function may draw from another pool now.
    before.wakeWatchers();
  }

  snapshot(): ConcurrencySnapshot {
    const functions: ConcurrencySnapshot['functions'] = {};
    for (const [name, n] of this.#inUse) functions[name] = { inUse: n };
    for (const [name, pool] of this.#reservedPools) {
      functions[name] = { reserved: pool.limit, inUse: this.#inUse.get(name) ?? 0 };
    }
    let inUse = this.#unreserved.inUse;
    for (const pool of this.#reservedPools.values()) inUse += pool.inUse;
    return {
      engineLimit: this.#engineLimit,
      unreservedLimit: this.#unreserved.limit,
      unreservedInUse: this.#unreserved.inUse,
      inUse,
      functions,
    };
  }

  inUse(functionName: string): number {
    return this.#inUse.get(functionName) ?? 0;
  }

  #poolOf(functionName: string): CountingSemaphore {
    return this.#reservedPools.get(functionName) ?? this.#unreserved;
  }

  #reservedSum(): number {
    let sum = 0;
    for (const pool of this.#reservedPools.values()) sum += pool.limit;
    return sum;
  }

  #hold(functionName: string, pool: CountingSemaphore): Reservation {
    this.#inUse.set(functionName, (this.#inUse.get(functionName) ?? 0) + 1);
    let released = false;
    return {
      functionName,
      release: () => {
        if (released) return;
        released = true;
        this.#inUse.set(functionName, (this.#inUse.get(functionName) ?? 1) - 1);
        pool.release();
      },
    };
  }

  #throttle(functionName: string, pool: CountingSemaphore): ThrottleError {
    return pool === this.#unreserved
      ? new ThrottleError(functionName, 'ConcurrentInvocationLimitExceeded', 'Rate Exceeded.')
      : new ThrottleError(
          functionName,
          'ReservedFunctionConcurrentInvocationLimitExceeded',
          pool.limit === 0
            ? `Function ${functionName} has reserved concurrency 0 and cannot be invoked`
            : 'Rate Exceeded.',
        );
  }
}
