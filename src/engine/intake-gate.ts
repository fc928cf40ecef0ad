/**
 * The intake bound: a poller may start gathering a new batch only while fewer batches wait for an
 * invoke slot than the invoke gate lets run (`mayStartBatch`). One waiting batch per running
 * invoke keeps the function busy — the next batch is ready when an invoke returns — without
 * pulling records that cannot be invoked soon: with a slow function, batches would otherwise
 * pile up at the gate (each poller keeps fetching while its batches wait) and their records stay
 * invisible (SQS), unacknowledged (RabbitMQ) or uncommitted (Kafka) for nothing.
 *
 * A fast function is not slowed: batches pass the gate at once, nothing waits, the bound never
 * binds. What is held at most, in batches: L invokes running + (L − 1 + P) waiting or being
 * gathered, with L the invoke limit and P the pollers (each poller admitted while fewer than L
 * waited may hand off one more batch). Pollers stop growing while they wait here
 * (scaling-policy.ts), so P stays where the function stopped keeping up.
 *
 * No clock and no timer: waiters are woken by the events that can open the bound (a batch
 * passed the gate, the limit changed). It cannot deadlock: it waits only while batches wait at
 * the gate, and those pass as invokes return, which never depends on the intake.
 */

/** Pure: whether a poller may start gathering a batch now. */
export function mayStartBatch(waitingBatches: number, invokeLimit: number): boolean {
  return waitingBatches < invokeLimit;
}

export class IntakeGate {
  readonly #limit: () => number;
  readonly #waiters = new Set<() => void>();
  #waiting = 0;

  /** `limit`: the invoke gate's current limit (read at every decision, so it may move). */
  constructor(limit: () => number) {
    this.#limit = limit;
  }

  /** Batches handed off and waiting for an invoke slot. */
  get waitingBatches(): number {
    return this.#waiting;
  }

  /** Pollers waiting here now. */
  get waitingPollers(): number {
    return this.#waiters.size;
  }

  /**
   * Resolves when the poller may gather a batch: `true` if it had to wait first (a scaling
   * signal), `false` if the bound was open. An abort ends the wait (resolves `true`); the
   * caller checks its signal.
   */
  async admit(signal: AbortSignal): Promise<boolean> {
    if (mayStartBatch(this.#waiting, this.#limit())) return false;
    while (!signal.aborted && !mayStartBatch(this.#waiting, this.#limit())) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.#waiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.#waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      });
    }
    return true;
  }

  /** A batch reached the invoke gate and waits there. */
  enter(): void {
    this.#waiting += 1;
  }

  /** A batch passed the invoke gate (or gave up waiting): the bound may open. */
  leave(): void {
    this.#waiting = Math.max(0, this.#waiting - 1);
    this.wake();
  }

  /** Re-checks every waiting poller (the invoke limit changed). */
  wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
