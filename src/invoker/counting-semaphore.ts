import { SluiceError } from '../errors.ts';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  cleanup: () => void;
}

/**
 * A counting semaphore with a changeable limit and FIFO waiters. The building block of every
 * concurrency ceiling (engine, function reservation, mapping maximum concurrency).
 */
export class CountingSemaphore {
  #limit: number;
  #inUse = 0;
  readonly #waiters: Waiter[] = [];
  /** `whenAvailable` callers: told when a permit is free, without taking it. */
  readonly #watchers = new Set<Waiter>();

  constructor(limit: number) {
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  get inUse(): number {
    return this.#inUse;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Changing the limit never revokes permits in use; a raise wakes waiters. */
  setLimit(limit: number): void {
    this.#limit = limit;
    this.#wake();
  }

  tryAcquire(): boolean {
    // Waiters go first: a caller that gives up quickly must not overtake one that queued.
    if (this.#waiters.length > 0 || this.#inUse >= this.#limit) return false;
    this.#inUse += 1;
    return true;
  }

  /** Waits for a permit; rejects with the signal's reason if aborted first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(abortReason(signal));
      };
      const waiter: Waiter = {
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /**
   * Resolves once a permit is free, without taking it (a caller that wants to know it *could*
   * get one before it starts work that will need one); rejects with the signal's reason if aborted
   * first. Also resolves on `wakeWatchers()`, so callers re-check rather than trust the answer.
   */
  whenAvailable(signal?: AbortSignal): Promise<void> {
    if (this.#inUse < this.#limit) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#watchers.delete(watcher);
        reject(abortReason(signal));
      };
      const watcher: Waiter = {
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#watchers.add(watcher);
    });
  }

  /** Resolves every `whenAvailable` wait now, permit or not (this semaphore was replaced). */
  wakeWatchers(): void {
    for (const watcher of this.#watchers) {
      watcher.cleanup();
      watcher.resolve();
    }
    this.#watchers.clear();
  }

  release(): void {
    if (this.#inUse <= 0)
      throw new SluiceError('SHUTDOWN', 'semaphore released more often than acquired');
    this.#inUse -= 1;
    this.#wake();
  }

  #wake(): void {
    while (this.#waiters.length > 0 && this.#inUse < this.#limit) {
      const waiter = this.#waiters.shift() as Waiter;
      waiter.cleanup();
      this.#inUse += 1;
      waiter.resolve();
    }
    // Acquirers first (they queued for a permit); watchers only learn that one is left over.
    if (this.#inUse < this.#limit) this.wakeWatchers();
  }
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new SluiceError('SHUTDOWN', 'aborted while waiting for capacity');
}
