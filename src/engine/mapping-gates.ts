/**
 * The concurrency gates of one mapping, named in one place, in the order a batch passes them:
 *
 * 1. **Intake admit** (intake-gate.ts) — takes nothing. No new batch is gathered while as many
 *    wait for an invoke slot as may run: records that cannot be invoked soon are never pulled.
 * 2. **Mapping slot** (maximumConcurrency) — one unit, held while the poller gathers and until
 *    its batch's invoke returns: batches being fetched or invoked, across pollers.
 * 3. **Function room** (engine and reserved ceilings, src/invoker/concurrency.ts) — waits, taking
 *    nothing, until the function *could* take a unit. An idle poller (a 20 s long poll on an
 *    empty SQS queue) so holds only its mapping slot, never concurrency that other mappings and
 *    sync invokes of the function need. Reserved concurrency 0 throws at once (a throttle).
 * 4. **Collect gate** — only when the connector asks (`collectsOneAtATime`, RabbitMQ's shared
 *    push buffer): one poller gathers at a time, holding only its slot.
 * 5. **Invoke gate** (invoke-limit.ts) — invokes in flight, where the throughput tuner puts them
 *    (up to maximumConcurrency). A gathered batch waiting here counts at the intake bound, which
 *    keeps what a mapping holds within (2L + P) × BatchSize even when the function's ceiling,
 *    not the invoke limit, is what binds.
 * 6. **Function reservation** — a unit of the function's concurrency, only for a gathered batch.
 * 7. **Invoke** — `Invoker.run` owns the reservation and gives it back when the invoke ends; the
 *    invoke gate and the mapping slot are given back then too (settling needs neither).
 *
 * Always gate (5), then unit (6): a unit is held only by an invoke that is running (sync and
 * async invokes, any mapping's batch past its gate) and comes back when it returns, never by
 * anyone waiting for a gate. So a batch holding its gate while it waits for a unit waits on
 * nothing that waits on it — no deadlock. The other order would hold engine-wide units while the
 * tuner keeps a mapping's batches at its gate: concurrency taken from everyone else and left
 * idle, the hoarding this avoids.
 *
 * What one batch holds of 2, 5 and 6 is owned by its `BatchCapacity` (batch-capacity.ts), which
 * gives back each exactly once on every path.
 */
import type { Logger } from 'pino';
import { CountingSemaphore } from '../invoker/counting-semaphore.ts';
import type { Invoker } from '../invoker/invoker.ts';
import type { MappingMetrics } from '../observability/mapping-metrics.ts';
import { BatchCapacity } from './batch-capacity.ts';
import type { TunerSettings } from './concurrency-tuner.ts';
import { IntakeGate } from './intake-gate.ts';
import { InvokeLimit } from './invoke-limit.ts';

export interface MappingGatesOptions {
  mapping: string;
  functionName: string;
  invoker: Invoker;
  /** The mapping's maximumConcurrency (infinite when unset): slots and the tuner's ceiling. */
  maximum: number;
  /** Tune the invoke limit for throughput; false = always the maximum. */
  adaptive: boolean;
  tuner: Partial<TunerSettings>;
  /** The connector's `collectsOneAtATime` (read at each gathering): gate 4 applies. */
  collectsOneAtATime: () => boolean;
  metrics: MappingMetrics;
  logger: Logger;
}

export class MappingGates {
  readonly #o: MappingGatesOptions;
  /** Gate 2: the mapping's maximum concurrency. */
  readonly #slots: CountingSemaphore;
  /** Gate 4: one poller gathers a batch at a time (`collectsOneAtATime`). */
  readonly #collectGate = new CountingSemaphore(1);
  /** Gate 5: invokes in flight, moved by the throughput tuner. */
  readonly invokeLimit: InvokeLimit;
  /** Gate 1: no new batch while as many wait at gate 5 as may run. */
  readonly #intake: IntakeGate;

  constructor(options: MappingGatesOptions) {
    this.#o = options;
    this.#slots = new CountingSemaphore(options.maximum);
    this.invokeLimit = new InvokeLimit({
      maximum: options.maximum,
      adaptive: options.adaptive,
      tuner: options.tuner,
      onChange: (limit, state) => {
        options.metrics.invokeLimit.set({ mapping: options.mapping }, limit);
        // A higher limit may let pollers waiting at the intake gather again.
        this.#intake.wake();
        options.logger.debug(
          { limit, rates: Object.fromEntries(state.rates) },
          'invoke concurrency tuned',
        );
      },
    });
    this.#intake = new IntakeGate(() => this.invokeLimit.limit);
  }

  /** Pollers waiting at the intake now (a scaling signal). */
  get waitingPollers(): number {
    return this.#intake.waitingPollers;
  }

  /** Gate 1. Resolves when the poller may gather: `true` if it had to wait first. */
  admit(signal: AbortSignal): Promise<boolean> {
    return this.#intake.admit(signal);
  }

  /**
   * Gates 2 and 3: a mapping slot, then a wait (taking nothing) until the function could take a
   * unit. The returned capacity holds the slot; on a throw nothing is held.
   */
  async claim(signal: AbortSignal): Promise<BatchCapacity> {
    await this.#slots.acquire(signal);
    try {
      await this.#o.invoker.waitForCapacity(this.#o.functionName, signal);
    } catch (err) {
      this.#slots.release();
      throw err;
    }
    return new BatchCapacity({
      releaseSlot: () => this.#slots.release(),
      passInvokeGate: (s) => this.#passInvokeGate(s),
      invoker: this.#o.invoker,
    });
  }

  /** Gate 4 around one gathering, when the connector asks for it. */
  async collect<T>(signal: AbortSignal, gather: () => Promise<T>): Promise<T> {
    if (!this.#o.collectsOneAtATime()) return gather();
    try {
      await this.#collectGate.acquire(signal);
    } catch {
      // Stopping while queued: hand back what this poller still holds, like an aborted collect.
      return gather();
    }
    try {
      return await gather();
    } finally {
      this.#collectGate.release();
    }
  }

  /** Settings changed at run time: new ceilings for gates 2 and 5. */
  setLimits(maximum: number, invokeMaximum: number): void {
    this.#slots.setLimit(maximum);
    this.invokeLimit.setMaximum(invokeMaximum);
    this.#intake.wake();
  }

  /** The source is started: the tuner starts, capped by what the source reported (its lanes). */
  startTuning(invokeMaximum: number): void {
    this.invokeLimit.setMaximum(invokeMaximum);
    this.#intake.wake();
    this.invokeLimit.start();
    this.#o.metrics.invokeLimit.set({ mapping: this.#o.mapping }, this.invokeLimit.limit);
  }

  stopTuning(): void {
    this.invokeLimit.stop();
  }

  /**
   * Gates 5 and 6, counted as waiting at the intake bound until both are held. On a throw
   * (aborted while waiting for the unit, or the function's reserved concurrency set to 0)
   * neither is held.
   */
  async #passInvokeGate(signal: AbortSignal) {
    const waiting = { mapping: this.#o.mapping };
    this.#intake.enter();
    this.#o.metrics.waitingBatches.set(waiting, this.#intake.waitingBatches);
    try {
      await this.invokeLimit.acquire();
      try {
        const reservation = await this.#o.invoker.reserve(this.#o.functionName, signal);
        return { reservation, releaseGate: () => this.invokeLimit.release() };
      } catch (err) {
        this.invokeLimit.release();
        throw err;
      }
    } finally {
      this.#intake.leave();
      this.#o.metrics.waitingBatches.set(waiting, this.#intake.waitingBatches);
    }
  }
}
