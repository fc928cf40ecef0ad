import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { functionArn } from '../lambda/arn.ts';
import type { AsyncConfig } from '../config/types.ts';
import { isSluiceError } from '../errors.ts';
import { ThrottleError, type Reservation } from '../invoker/concurrency.ts';
import type { QueuedEvent } from '../store/state-store.ts';
import type { AsyncWorkerOptions } from './async-worker-options.ts';
import { errorResponse, parseLastError, responseOf, type Attempt } from './attempt-response.ts';
import { planDeliveries, type PendingDelivery } from './deliveries.ts';
import { neverInvokedResponse, type AttemptResponse } from './invocation-record.ts';
import {
  backoffDelayMs,
  decideRetry,
  isExpired,
  type InvocationCondition,
} from './retry-policy.ts';

export type { AsyncWorkerOptions } from './async-worker-options.ts';

export type AsyncWorkerState = 'created' | 'running' | 'stopping' | 'stopped';

/**
 * Drains the async queue. For each function with due events it first reserves concurrency (never
 * leasing a row it could not invoke now), then leases that many rows, invokes them, and applies
 * the retry policy. A finished event's deliveries are saved on the row before they are sent, and
 * the row is deleted only when every destination has accepted its message — so a crash at any
 * point leaves the row to be leased again (at-least-once), and an invoke that succeeded is not
 * repeated because its destinations were down.
 */
export class AsyncWorker {
  readonly #o: AsyncWorkerOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #logger: Logger;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  readonly #warnedUnknown = new Set<string>();
  #state: AsyncWorkerState = 'created';
  #invoking = 0;
  #delivering = 0;
  #rotate = 0;
  #wakeRequested = false;
  #wake: (() => void) | undefined;
  #nextRetryAtMs = Infinity;
  #loop: Promise<void> | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: AsyncWorkerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#owner = options.ownerId ?? randomUUID();
    this.#leaseMs = options.leaseMs ?? 60_000;
    this.#logger = options.logger.child({ component: 'async-worker' });
  }

  get state(): AsyncWorkerState {
    return this.#state;
  }

  /** Rows being invoked or delivered now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * Takes back rows leased by a previous engine on this store (one engine owns a store: a lease
   * not ours is a dead engine's), then starts draining.
   */
  async start(): Promise<void> {
    if (this.#state !== 'created')
      throw new Error(`cannot start an async worker in state ${this.#state}`);
    const reclaimed = await this.#o.store.releaseForeignLeases(this.#owner);
    if (reclaimed > 0)
      this.#logger.info({ reclaimed }, 'took back events leased by a previous run');
    this.#transition('running');
    this.#unsubscribe = this.#o.queue.onEnqueue(() => this.wake());
    this.#heartbeat = setInterval(() => void this.#renew(), Math.max(10, this.#leaseMs / 3));
    this.#heartbeat.unref();
    this.#loop = this.#run();
  }

  /** Makes the worker look at the queue now (after an enqueue, or when capacity was freed). */
  wake(): void {
    this.#wakeRequested = true;
    this.#wake?.();
  }

  /**
   * Stops leasing, waits up to `graceMs` for rows being worked on, and stops. Rows still running
   * after the grace keep their leases; the next start takes them back. Idempotent and awaitable.
   */
  stop(graceMs = 30_000): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#state === 'created') {
        this.#transition('stopped');
        return;
      }
      this.#transition('stopping');
      this.#unsubscribe?.();
      this.wake();
      await this.#loop;
      const timer = new Promise<'timeout'>((r) => setTimeout(r, graceMs, 'timeout').unref());
      const settled = await Promise.race([Promise.allSettled([...this.#inFlight]), timer]);
      if (settled === 'timeout') {
        // Cut in-line delivery retries short; rows keep what is still owed.
        this.#abort.abort();
        await Promise.race([
          Promise.allSettled([...this.#inFlight]),
          new Promise((r) => setTimeout(r, 1000).unref()),
        ]);
        this.#logger.warn(
          { inFlight: this.#inFlight.size },
          'async worker stopped with events in flight',
        );
      }
      clearInterval(this.#heartbeat);
      this.#transition('stopped');
    })();
    return this.#stopping;
  }

  async #run(): Promise<void> {
    while (this.#state === 'running') {
      this.#wakeRequested = false;
      try {
        await this.#fill();
      } catch (err) {
        this.#logger.error({ err }, 'async worker poll failed');
      }
      if (this.#state !== 'running' || this.#wakeRequested) continue;
      await this.#sleep();
    }
  }

  #sleep(): Promise<void> {
    const now = this.#now();
    if (this.#nextRetryAtMs <= now) this.#nextRetryAtMs = Infinity;
    const delay = Math.min(this.#o.pollIntervalMs ?? 1000, Math.max(0, this.#nextRetryAtMs - now));
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, delay);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = undefined;
        done();
      };
    });
  }

  /** One look at the queue: lease what can be worked on now and start it. */
  async #fill(): Promise<void> {
    const { store, invoker } = this.#o;
    const maxDeliveries = this.#o.maxDeliveriesInFlight ?? 64;
    if (this.#delivering < maxDeliveries) {
      const rows = await store.leaseForDelivery(this.#lease(maxDeliveries - this.#delivering));
      for (const row of rows) this.#track(this.#deliverRow(row), 'deliver');
    }

    const functions = await store.dueFunctions(this.#now());
    if (functions.length === 0) return;
    // Rotate the starting function so one function's backlog cannot always go first.
    const start = this.#rotate++ % functions.length;
    const maxInFlight = this.#o.maxInFlight ?? 1000;
    const batch = this.#o.batchSize ?? 100;
    for (let i = 0; i < functions.length && this.#state === 'running'; i++) {
      const fn = functions[(start + i) % functions.length] as string;
      const config = this.#o.configs.get(fn);
      if (!invoker.functionSpec(fn) || !config) {
        // Kept, not dropped: the function may come back with the next config.
        if (!this.#warnedUnknown.has(fn)) {
          this.#warnedUnknown.add(fn);
          this.#logger.warn(
            { function: fn },
            'queued async events for an unknown function are kept until it exists',
          );
        }
        continue;
      }
      if (invoker.concurrency.reservedConcurrency(fn) === 0) {
        const rows = await store.leaseForInvoke(fn, this.#lease(batch));
        for (const row of rows) {
          this.#track(
            this.#finish(
              row,
              config,
              'RetriesExhausted',
              row.attempts,
              neverInvokedResponse('ConcurrencyZero'),
              'ConcurrencyZero',
            ),
            'invoke',
          );
        }
        continue;
      }
      // Reserve first, lease second: never hold rows that cannot be invoked now.
      const reservations: Reservation[] = [];
      while (reservations.length < batch && this.#invoking + reservations.length < maxInFlight) {
        try {
          reservations.push(invoker.concurrency.tryReserve(fn));
        } catch (err) {
          if (err instanceof ThrottleError) break;
          throw err;
        }
      }
      if (reservations.length === 0) continue;
      const rows = await store.leaseForInvoke(fn, this.#lease(reservations.length));
      for (const surplus of reservations.splice(rows.length)) surplus.release();
      rows.forEach((row, j) =>
        this.#track(this.#invokeRow(row, reservations[j] as Reservation, config), 'invoke'),
      );
    }
  }

  /** Lease → invoke → retry-or-deliver of one event: the invoke and the decision are steps below. */
  async #invokeRow(row: QueuedEvent, reservation: Reservation, config: AsyncConfig): Promise<void> {
    const startedAt = this.#now();
    if (isExpired(row.firstReceivedAtMs, config, startedAt)) {
      reservation.release();
      const last = parseLastError(row.lastError);
      await this.#finish(row, config, 'EventAgeExceeded', row.attempts, last, 'EventAgeExceeded');
      return;
    }
    this.#o.metrics?.asyncEventAge.observe(
      { function: row.functionName },
      (startedAt - row.firstReceivedAtMs) / 1000,
    );
    const attempt = await this.#attempt(row, reservation);
    if (attempt === undefined) {
      // Not an attempt: hand the row back untouched for the next run.
      await this.#o.store.reschedule(row.id, this.#owner, {
        ...same(row),
        nextAttemptAtMs: row.nextAttemptAtMs,
      });
      return;
    }
    await this.#retryOrFinish(row, config, attempt);
  }

  /**
   * One invoke of the row's event. A throttle or an engine error did not run the function, so it
   * does not count as an attempt; undefined when the engine's shutdown cut the invoke.
   */
  async #attempt(row: QueuedEvent, reservation: Reservation): Promise<Attempt | undefined> {
    try {
      const result = await this.#o.invoker.run(reservation, {
        requestId: row.requestId,
        payload: row.payload,
        ...(row.traceId === undefined ? {} : { traceId: row.traceId }),
      });
      const outcome = result.ok ? 'success' : 'function-error';
      return { outcome, response: responseOf(result), attempts: row.attempts + 1 };
    } catch (err) {
      if (isSluiceError(err, 'SHUTDOWN')) return undefined;
      const outcome = err instanceof ThrottleError ? 'throttled' : 'engine-error';
      const response = errorResponse(err, outcome === 'throttled' ? 429 : 500);
      this.#logger.warn(
        { function: row.functionName, requestId: row.requestId, error: response.errorMessage },
        'async invoke did not run; backing off',
      );
      return { outcome, response, attempts: row.attempts };
    }
  }

  /** The retry policy's decision on an attempt: back on the queue at its time, or finished. */
  async #retryOrFinish(row: QueuedEvent, config: AsyncConfig, attempt: Attempt): Promise<void> {
    const { outcome, response, attempts } = attempt;
    const decision = decideRetry(
      outcome,
      { attempts, backoffs: row.backoffs, firstReceivedAtMs: row.firstReceivedAtMs },
      config,
      this.#now(),
      this.#random(),
    );
    if (decision.action === 'retry') {
      await this.#o.store.reschedule(row.id, this.#owner, {
        stage: 'invoke',
        nextAttemptAtMs: decision.atMs,
        attempts,
        backoffs: decision.backoffs,
        lastError: JSON.stringify(response),
        deliveries: undefined,
      });
      this.#nextRetryAtMs = Math.min(this.#nextRetryAtMs, decision.atMs);
      return;
    }
    await this.#finish(
      row,
      config,
      decision.condition,
      attempts,
      response,
      decision.condition === 'Success' ? undefined : decision.condition,
    );
  }

  /** Failure handling or success: plan the deliveries, save them on the row, send them. */
  async #finish(
    row: QueuedEvent,
    config: AsyncConfig,
    condition: InvocationCondition,
    attempts: number,
    response: AttemptResponse | undefined,
    droppedReason: string | undefined,
  ): Promise<void> {
    const fn = row.functionName;
    if (droppedReason) {
      this.#o.metrics?.asyncEventsDropped.inc({ function: fn, reason: droppedReason });
      this.#logger.info(
        { function: fn, requestId: row.requestId, condition, reason: droppedReason, attempts },
        'async event failed for good',
      );
    }
    const deliveries = planDeliveries(
      {
        functionName: fn,
        functionArn: functionArn(this.#o.region, this.#o.accountId, fn, '$LATEST'),
        requestId: row.requestId,
        payload: row.payload,
        condition,
        approximateInvokeCount: attempts,
        response,
        nowMs: this.#now(),
      },
      config,
    );
    if (deliveries.length === 0) {
      await this.#o.store.complete(row.id);
      return;
    }
    // Saved before sending: a crash from here on re-sends, it never re-invokes.
    await this.#o.store.reschedule(row.id, this.#owner, {
      keepLease: true,
      stage: 'deliver',
      nextAttemptAtMs: this.#now(),
      attempts,
      backoffs: 0,
      lastError: response ? JSON.stringify(response) : undefined,
      deliveries: JSON.stringify(deliveries),
    });
    await this.#sendDeliveries({ ...row, attempts, backoffs: 0 }, config, deliveries);
  }

  async #deliverRow(row: QueuedEvent): Promise<void> {
    const deliveries = JSON.parse(row.deliveries ?? '[]') as PendingDelivery[];
    const config = this.#o.configs.get(row.functionName);
    if (!config) {
      // Function gone from the config: keep the row; a later config may name it again.
      await this.#o.store.reschedule(row.id, this.#owner, {
        ...same(row),
        nextAttemptAtMs: this.#now() + backoffDelayMs(row.backoffs, this.#random()),
        backoffs: row.backoffs + 1,
      });
      return;
    }
    await this.#sendDeliveries(row, config, deliveries);
  }

  async #sendDeliveries(
    row: QueuedEvent,
    config: AsyncConfig,
    deliveries: PendingDelivery[],
  ): Promise<void> {
    const remaining = await this.#o.deliveries.send(
      row.functionName,
      config,
      deliveries,
      this.#abort.signal,
    );
    if (remaining.length === 0) {
      await this.#o.store.complete(row.id);
      return;
    }
    // Destinations down: the row stays, retried with the same 1 s → 5 min backoff, without end.
    const atMs = this.#now() + backoffDelayMs(row.backoffs, this.#random());
    await this.#o.store.reschedule(row.id, this.#owner, {
      stage: 'deliver',
      nextAttemptAtMs: atMs,
      attempts: row.attempts,
      backoffs: row.backoffs + 1,
      lastError: row.lastError,
      deliveries: JSON.stringify(remaining),
    });
    this.#nextRetryAtMs = Math.min(this.#nextRetryAtMs, atMs);
  }

  #track(task: Promise<void>, kind: 'invoke' | 'deliver'): void {
    if (kind === 'invoke') this.#invoking += 1;
    else this.#delivering += 1;
    const tracked = task
      .catch((err: unknown) => {
        // The row keeps its lease and comes back when it lapses (or at the next start).
        this.#logger.error({ err }, 'async event handling failed; it will be retried');
      })
      .finally(() => {
        if (kind === 'invoke') this.#invoking -= 1;
        else this.#delivering -= 1;
        this.#inFlight.delete(tracked);
        if (this.#state === 'running') this.wake();
      });
    this.#inFlight.add(tracked);
  }

  #lease(limit: number) {
    return { owner: this.#owner, nowMs: this.#now(), leaseMs: this.#leaseMs, limit };
  }

  async #renew(): Promise<void> {
    if (this.#inFlight.size === 0) return;
    try {
      await this.#o.store.renewLeases(this.#owner, this.#now() + this.#leaseMs);
    } catch (err) {
      this.#logger.error({ err }, 'renewing async event leases failed');
    }
  }

  #transition(next: AsyncWorkerState): void {
    this.#logger.debug({ from: this.#state, to: next }, 'async worker state');
    this.#state = next;
  }
}

function same(row: QueuedEvent) {
  return {
    stage: row.stage,
    nextAttemptAtMs: row.nextAttemptAtMs,
    attempts: row.attempts,
    backoffs: row.backoffs,
    lastError: row.lastError,
    deliveries: row.deliveries,
  };
}
