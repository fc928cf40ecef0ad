/**
 * How an execution environment waits without polling: whoever changes what a wait looks at (the
 * Runtime API server's callbacks, a process ending, an interruption) calls `notify()`, and every
 * pending `waitFor` re-checks its predicate then. A timeout checks it one last time.
 */
export class StateChanges {
  readonly #waiters = new Set<() => void>();

  notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Resolves true when `predicate` holds (checked at every notify), false after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!predicate()) return;
        done(true);
      };
      const timer = setTimeout(() => done(predicate()), timeoutMs);
      const done = (value: boolean): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(value);
      };
      this.#waiters.add(check);
    });
  }
}
