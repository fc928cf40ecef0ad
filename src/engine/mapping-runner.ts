import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import type { SettleOutcome, SourceRecord } from '../connectors/types.ts';
import type { Reservation } from '../invoker/concurrency.ts';
import { CountingSemaphore } from '../invoker/counting-semaphore.ts';
import type { InvokeResult } from '../invoker/types.ts';
import { BatchCollector, type CollectedBatch } from './batch-collector.ts';
import { judgeBatch, type BatchVerdict } from './batch-result.ts';
import { assertTransition, type MappingState } from './mapping-state.ts';
import {
  collectSettingsOf,
  concurrencyLimit,
  invokeMaximum,
  scalingFor,
  type MappingRunnerOptions,
  type MappingStatus,
  type RunnerSettings,
  type RunnerSettingsChanges,
} from './runner-settings.ts';
import {
  nextPollerCount,
  type ScalingObservation,
  type ScalingSettings,
} from './scaling-policy.ts';
import { IntakeGate } from './intake-gate.ts';
import { InvokeLimit } from './invoke-limit.ts';
import { SourceHealthMonitor } from './source-health.ts';

export type {
  FailurePolicy,
  MappingRunnerOptions,
  MappingStatus,
  RecordFilter,
  RunnerSettings,
  RunnerSettingsChanges,
} from './runner-settings.ts';

const NO_RECORDS = 'No records processed';

/** Gives back a unit of the mapping's maximum concurrency; idempotent. */
type ReleaseSlot = () => void;

/**
 * Runs one event source mapping: pollers that each take a mapping slot and wait until the
 * function could run a batch, gather a batch, filter it, reserve the function's concurrency,
 * invoke the function and settle the result at the source. The number of pollers follows the
 * scaling policy between the mapping's minimum and maximum concurrency.
 *
 * Capacity before polling, without hoarding: a poller polls only while the function could take a
 * unit (engine and reserved ceilings, src/invoker/concurrency.ts), but reserves the unit only once
 * it has records to invoke. An idle poller — a 20 s long poll on an empty SQS queue — so holds
 * only its mapping slot, never concurrency that other mappings and sync invokes of the function
 * need. A gathered batch waiting for its unit counts at the intake bound (intake-gate.ts), which
 * keeps what a mapping holds within (2L + P) × BatchSize even when the function's ceiling, not
 * the mapping's invoke limit, is what binds.
 */
export class MappingRunner {
  readonly #o: MappingRunnerOptions;
  #settings: RunnerSettings;
  #state: MappingState = 'Creating';
  #reason = 'USER_INITIATED';
  #lastResult = NO_RECORDS;
  #pollerTarget = 0;
  readonly #pollers = new Map<number, { abort: AbortController; done: Promise<void> }>();
  #nextPollerId = 0;
  #inFlight = 0;
  #observation: ScalingObservation = emptyObservation();
  #scaling: ScalingSettings;
  #scaler: NodeJS.Timeout | undefined;
  #backlogTimer: NodeJS.Timeout | undefined;
  #sourceReady = false;
  #starting: Promise<void> | undefined;
  #startAbort = new AbortController();
  #stopping: Promise<{ abandonedBatches: number }> | undefined;
  readonly #busyLanes = new Set<string>();
  /** The mapping's maximum concurrency: batches being fetched or invoked, across pollers. */
  readonly #slots: CountingSemaphore;
  /** One poller gathers a batch at a time when the connector asks for it (`collectsOneAtATime`). */
  readonly #collectGate = new CountingSemaphore(1);
  /** Invokes in flight: up to the maximum, where the throughput tuner puts it. */
  readonly #invokeLimit: InvokeLimit;
  /** No new batch is gathered while as many wait for an invoke slot as may run (intake-gate.ts). */
  readonly #intake: IntakeGate;
  /** Records received and not yet settled (being gathered, waiting, invoked or settling). */
  #heldRecords = 0;
  /** Source health for status, `/readyz` and the source gauges (source-health.ts). */
  readonly #sourceHealth: SourceHealthMonitor;

  constructor(options: MappingRunnerOptions) {
    this.#o = options;
    this.#sourceHealth = new SourceHealthMonitor({
      mapping: options.settings.name,
      health: () => options.connector.health(),
      enabled: () => this.#wantsToPoll(),
      connected: () => this.#sourceReady,
      metrics: options.metrics,
      logger: options.logger,
      ...(options.sourceHealthIntervalMs === undefined
        ? {}
        : { intervalMs: options.sourceHealthIntervalMs }),
    });
    this.#settings = options.settings;
    this.#scaling = this.#scalingFor();
    this.#slots = new CountingSemaphore(concurrencyLimit(options.settings));
    this.#invokeLimit = new InvokeLimit({
      maximum: concurrencyLimit(options.settings),
      adaptive: options.settings.adaptiveConcurrency ?? true,
      tuner: {
        ...(options.settings.initialInvokeConcurrency === undefined
          ? {}
          : { initial: options.settings.initialInvokeConcurrency }),
        ...options.tuner,
      },
      onChange: (limit, state) => {
        options.metrics.invokeLimit.set({ mapping: this.name }, limit);
        // A higher limit may let pollers waiting at the intake gather again.
        this.#intake.wake();
        options.logger.debug(
          { limit, rates: Object.fromEntries(state.rates) },
          'invoke concurrency tuned',
        );
      },
    });
    this.#intake = new IntakeGate(() => this.#invokeLimit.limit);
  }

  get name(): string {
    return this.#settings.name;
  }

  get settings(): RunnerSettings {
    return this.#settings;
  }

  status(): MappingStatus {
    const source = this.#sourceHealth.view();
    // A source problem shows while the mapping wants to poll, read from the connector at once.
    const problem = this.#wantsToPoll() && !source.healthy;
    return {
      name: this.#settings.name,
      state: this.#state,
      stateTransitionReason: (problem ? source.reason : undefined) ?? this.#reason,
      lastProcessingResult: (problem ? source.problem : undefined) ?? this.#lastResult,
      pollers: this.#pollers.size,
      inFlightBatches: this.#inFlight,
      invokeLimit: this.#invokeLimit.limit,
      sourceHealthy: source.healthy,
    };
  }

  #wantsToPoll(): boolean {
    return this.#state === 'Enabling' || this.#state === 'Enabled' || this.#state === 'Updating';
  }

  /** Starts the source (retrying with back-off while it is unreachable) and, if enabled, polling. */
  start(): Promise<void> {
    this.#starting ??= (async () => {
      if (!this.#settings.enabled) {
        this.#transition('Disabled', 'USER_INITIATED');
        return;
      }
      this.#transition('Enabling', 'USER_INITIATED');
      this.#connectInBackground();
    })();
    return this.#starting;
  }

  /** Enables polling (Lambda: Disabled → Enabling → Enabled). */
  async enable(): Promise<void> {
    if (this.#state === 'Enabled' || this.#state === 'Enabling') return;
    this.#settings = { ...this.#settings, enabled: true };
    this.#transition('Enabling', 'USER_INITIATED');
    this.#connectInBackground();
  }

  /**
   * Disables polling: pollers stop fetching at once (an in-flight fetch is aborted); batches being
   * invoked finish and are settled, so nothing is lost. Resolves when polling has stopped.
   */
  async disable(): Promise<void> {
    if (this.#state === 'Disabled' || this.#state === 'Disabling') return;
    this.#settings = { ...this.#settings, enabled: false };
    this.#transition('Disabling', 'USER_INITIATED');
    await this.#stopPolling();
    this.#o.connector.pause?.();
    this.#transition('Disabled', 'USER_INITIATED');
  }

  /** Changes batch settings at run time; pollers pick them up for their next batch. */
  async update(changes: RunnerSettingsChanges): Promise<void> {
    const wasEnabled = this.#state === 'Enabled' || this.#state === 'Enabling';
    // Enabling = a connect is pending; it starts the pollers (and scaling) when it succeeds.
    const connecting = this.#state === 'Enabling';
    this.#transition('Updating', 'USER_INITIATED');
    this.#settings = { ...this.#settings, ...changes };
    this.#scaling = this.#scalingFor();
    this.#slots.setLimit(concurrencyLimit(this.#settings));
    this.#invokeLimit.setMaximum(this.#invokeMaximum());
    this.#intake.wake();
    this.#pollerTarget = Math.min(
      Math.max(this.#pollerTarget, this.#scaling.minimum),
      this.#scaling.maximum,
    );
    const wantEnabled = changes.enabled ?? wasEnabled;
    if (wantEnabled && !wasEnabled) {
      this.#transition('Enabling', 'USER_INITIATED');
      this.#connectInBackground();
    } else if (!wantEnabled && wasEnabled) {
      this.#transition('Disabling', 'USER_INITIATED');
      await this.#stopPolling();
      this.#o.connector.pause?.();
      this.#transition('Disabled', 'USER_INITIATED');
    } else if (connecting) {
      // Back to Enabling, so the pending connect starts the pollers once the source answers
      // (starting them now would poll a connector that is not started, and skip scaling).
      this.#transition('Enabling', 'USER_INITIATED');
    } else {
      this.#transition(wasEnabled ? 'Enabled' : 'Disabled', 'USER_INITIATED');
      if (wasEnabled) this.#reconcilePollers();
    }
  }

  /**
   * Stops polling and waits up to `deadlineMs` for batches in flight; then closes the connector.
   * Records never settled return to the source on their own (SQS visibility, RabbitMQ unacked,
   * Kafka uncommitted). Idempotent and awaitable.
   */
  stop(
    deadlineMs = 30_000,
    finalState: MappingState = 'Disabled',
    /** The connector carries over to a new runner (an update): leave it running. */
    options: { keepConnector?: boolean } = {},
  ): Promise<{ abandonedBatches: number }> {
    this.#stopping ??= (async () => {
      await Promise.resolve();
      this.#startAbort.abort();
      this.#sourceHealth.stop();
      const stopped = this.#stopPolling();
      const timeout = sleep(deadlineMs, 'timeout' as const, { ref: false });
      const outcome = await Promise.race([stopped.then(() => 'done' as const), timeout]);
      const abandoned = outcome === 'timeout' ? this.#inFlight : 0;
      if (abandoned > 0) {
        this.#o.logger.warn(
          { abandonedBatches: abandoned },
          'stop deadline passed; abandoning in-flight batches (their records return to the source)',
        );
      }
      if (!options.keepConnector) {
        await this.#o.connector
          .stop()
          .catch((err: unknown) => this.#o.logger.warn({ err }, 'closing the connector failed'));
      }
      if (this.#state !== 'Deleting' && this.#state !== finalState) this.#state = finalState;
      return { abandonedBatches: abandoned };
    })();
    return this.#stopping;
  }

  /** Deleting: stop, then the state stays `Deleting` until the caller drops the runner. */
  async delete(deadlineMs = 30_000): Promise<void> {
    this.#transition('Deleting', 'USER_INITIATED');
    await this.stop(deadlineMs, 'Deleting');
  }

  #connectInBackground(): void {
    if (!this.#stopping) this.#sourceHealth.start();
    void pRetry(() => this.#o.connector.start(), {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: this.#o.retryMinMs ?? 500,
      maxTimeout: this.#o.retryMaxMs ?? 30_000,
      signal: this.#startAbort.signal,
      onFailedAttempt: ({ error, attemptNumber, retryDelay }) => {
        const health = this.#o.connector.health();
        this.#lastResult = health.detail ?? (error as Error).message;
        if (health.reason) this.#reason = health.reason;
        this.#o.logger.warn(
          {
            attempt: attemptNumber,
            retryInMs: retryDelay,
            reason: health.reason,
            detail: this.#lastResult,
          },
          'event source not reachable; retrying',
        );
      },
    })
      .then(() => {
        if (this.#state !== 'Enabling') return;
        this.#o.connector.resume?.();
        this.#sourceReady = true;
        this.#transition('Enabled', 'USER_INITIATED');
        this.#startScaling();
      })
      .catch((err: unknown) => {
        if (!this.#startAbort.signal.aborted)
          this.#o.logger.error({ err }, 'event source start gave up');
      });
  }

  #startScaling(): void {
    // The source is started now: a lane limit it reports (Kafka partitions) caps the pollers.
    this.#scaling = this.#scalingFor();
    this.#pollerTarget = this.#scaling.initial;
    this.#invokeLimit.setMaximum(this.#invokeMaximum());
    this.#intake.wake();
    this.#invokeLimit.start();
    this.#o.metrics.invokeLimit.set({ mapping: this.name }, this.#invokeLimit.limit);
    this.#reconcilePollers();
    clearInterval(this.#scaler);
    this.#scaler = setInterval(() => {
      // Pollers still waiting at the intake count too (they may have waited all interval long).
      const observed = {
        ...this.#observation,
        intakeWaits: this.#observation.intakeWaits + this.#intake.waitingPollers,
      };
      const next = nextPollerCount(this.#pollerTarget, this.#scaling, observed);
      if (next !== this.#pollerTarget)
        this.#o.logger.debug({ from: this.#pollerTarget, to: next, observed }, 'scaling pollers');
      this.#observation = emptyObservation();
      this.#pollerTarget = next;
      this.#reconcilePollers();
    }, this.#scaling.intervalMs);
    this.#scaler.unref();
    const backlog = this.#o.connector.backlog?.bind(this.#o.connector);
    if (backlog) {
      clearInterval(this.#backlogTimer);
      this.#backlogTimer = setInterval(() => {
        backlog()
          .then((n) => n !== undefined && this.#o.metrics.backlog.set({ mapping: this.name }, n))
          .catch(() => undefined);
      }, 5000);
      this.#backlogTimer.unref();
    }
  }

  #reconcilePollers(): void {
    if (this.#state !== 'Enabled' && this.#state !== 'Updating') return;
    while (this.#pollers.size < this.#pollerTarget) this.#startPoller();
    // Surplus pollers finish their current batch and exit (they check the target each loop).
    this.#o.metrics.concurrency.set({ mapping: this.name }, this.#pollerTarget);
  }

  #startPoller(): void {
    const id = this.#nextPollerId++;
    const abort = new AbortController();
    const done = this.#pollLoop(id, abort.signal)
      .catch((err: unknown) => this.#o.logger.error({ err, poller: id }, 'poller failed'))
      .finally(() => this.#pollers.delete(id));
    this.#pollers.set(id, { abort, done });
  }

  async #stopPolling(): Promise<void> {
    clearInterval(this.#scaler);
    clearInterval(this.#backlogTimer);
    this.#invokeLimit.stop();
    this.#pollerTarget = 0;
    const pollers = [...this.#pollers.values()];
    for (const p of pollers) p.abort.abort();
    await Promise.allSettled(pollers.map((p) => p.done));
  }

  #surplus(id: number): boolean {
    // Lowest ids are kept; the highest-numbered pollers above the target retire.
    let rank = 0;
    for (const other of this.#pollers.keys()) if (other < id) rank += 1;
    return rank >= this.#pollerTarget;
  }

  async #pollLoop(id: number, signal: AbortSignal): Promise<void> {
    const collector = new BatchCollector(this.#o.connector, Date.now, {
      ...(this.#o.filter ? { filter: this.#o.filter } : {}),
      settleFilteredOut: (records) => this.#settleFilteredOut(records),
      onFetched: (count) => this.#received(count),
    });
    let failures = 0;
    // Batches this poller handed off and that are not settled yet. Unordered mappings keep up to
    // `pipelineDepth` of them, so the next receive overlaps the previous invoke; ordered lanes
    // take one at a time (the next batch of a lane must see the outcome of the last).
    const pending = new Set<Promise<void>>();
    const depth = this.#settings.ordered ? 1 : Math.max(1, this.#o.pipelineDepth ?? 2);
    try {
      while (!signal.aborted && !this.#surplus(id)) {
        while (pending.size >= depth) await Promise.race(pending);
        if (signal.aborted || this.#surplus(id)) break;
        // Never gather a batch the function cannot take soon (a poller waiting here holds nothing).
        if (await this.#intake.admit(signal)) this.#observation.intakeWaits += 1;
        if (signal.aborted || this.#surplus(id)) break;
        let releaseSlot: ReleaseSlot;
        try {
          // The mapping's and the function's ceilings hold before a receive; the function's unit
          // itself is reserved only for a gathered batch (#passInvokeGate).
          releaseSlot = await this.#slotWhenFunctionHasRoom(signal);
        } catch (err) {
          if (signal.aborted) break;
          this.#lastResult = `throttled: ${(err as Error).message}`;
          await sleep(1000, undefined, { signal }).catch(() => undefined);
          continue;
        }
        let handedOff = false;
        try {
          const batch = await this.#collect(collector, signal);
          this.#sourceHealth.polled();
          failures = 0;
          this.#observe(batch.polledCount, batch.emptyFetches);
          try {
            if (batch.records.length + batch.oversized.length + batch.filteredOut.length > 0) {
              handedOff = true;
              const run = this.#process(batch, releaseSlot, signal).finally(releaseSlot);
              const task: Promise<void> = run
                .catch((err: unknown) => {
                  // Depth 1 awaits `run` below and backs off there; pipelined batches log here.
                  if (depth > 1)
                    this.#o.logger.error(
                      { err: (err as Error).message },
                      'handling a batch failed; its records will be redelivered',
                    );
                })
                .finally(() => pending.delete(task));
              pending.add(task);
              // Ordered: the lane's batch must be settled before its next window opens.
              if (depth === 1) await run;
            }
          } finally {
            // Opens the poller's next window (even after a failed batch: never a stuck lane).
            collector.done();
          }
        } catch (err) {
          failures += 1;
          this.#o.metrics.pollingErrors.inc({ mapping: this.name });
          const health = this.#o.connector.health();
          this.#lastResult = health.detail ?? (err as Error).message;
          const delayMs = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
          this.#o.logger.warn({ err: (err as Error).message, retryInMs: delayMs }, 'poll failed');
          await sleep(delayMs, undefined, { signal }).catch(() => undefined);
        } finally {
          if (!handedOff) releaseSlot();
        }
      }
    } finally {
      await Promise.allSettled(pending);
      // Records held for a next batch that will not come go back to the source now.
      const carry = collector.takeBuffered();
      if (carry.length > 0)
        await this.#settle({ succeeded: [], failed: [], released: carry, dropped: [] });
    }
  }

  async #collect(collector: BatchCollector, signal: AbortSignal): Promise<CollectedBatch> {
    const settings = collectSettingsOf(this.#settings);
    if (!this.#o.connector.collectsOneAtATime)
      return collector.collect(settings, signal, this.#busyLanes);
    try {
      await this.#collectGate.acquire(signal);
    } catch {
      // Stopping while queued: hand back what this poller still holds, like an aborted collect.
      return collector.collect(settings, signal, this.#busyLanes);
    }
    try {
      return await collector.collect(settings, signal, this.#busyLanes);
    } finally {
      this.#collectGate.release();
    }
  }

  /**
   * One unit of the mapping's maximum concurrency, held while the poller gathers and until its
   * batch's invoke returns; then waits, taking nothing, until the function could take a unit
   * (engine and reserved ceilings). Throws `ThrottleError` at once for reserved concurrency 0.
   */
  async #slotWhenFunctionHasRoom(signal: AbortSignal): Promise<ReleaseSlot> {
    await this.#slots.acquire(signal);
    try {
      await this.#o.invoker.waitForCapacity(this.#settings.functionName, signal);
    } catch (err) {
      this.#slots.release();
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#slots.release();
    };
  }

  #observe(count: number, emptyFetches: number): void {
    const o = this.#observation;
    if (count === 0) o.emptyPolls += Math.max(1, emptyFetches);
    else if (count >= this.#settings.batchSize) o.fullPolls += 1;
    else o.partialPolls += 1;
    this.#invokeLimit.polled(count, this.#settings.batchSize);
  }

  async #process(
    batch: CollectedBatch,
    releaseSlot: ReleaseSlot,
    signal: AbortSignal,
  ): Promise<void> {
    const { records: matched, oversized, filteredOut } = batch;
    const total = matched.length + oversized.length + filteredOut.length;
    let settled = false;
    try {
      settled = await this.#invokeAndSettle(batch, releaseSlot, signal);
    } finally {
      // Handling failed before its settle: the records return to the source on their own.
      if (!settled) this.#release(total);
    }
  }

  /** Returns once the batch is settled (true) — false only when it throws before settling. */
  async #invokeAndSettle(
    { records: matched, oversized, filteredOut }: CollectedBatch,
    releaseSlot: ReleaseSlot,
    signal: AbortSignal,
  ): Promise<boolean> {
    const m = this.#o.metrics;
    const mapping = this.name;
    const dropped: SettleOutcome['dropped'] = oversized.map((record) => ({
      record,
      reason: 'MaximumPayloadSizeExceeded' as const,
    }));
    if (dropped.length > 0)
      m.dropped.inc({ mapping, reason: 'MaximumPayloadSizeExceeded' }, dropped.length);

    // Filtered before the batcher (batch-collector.ts): `matched` is the batch, and a record
    // the filter dropped never becomes a MaximumPayloadSizeExceeded failure.
    if (filteredOut.length > 0) m.filteredOut.inc({ mapping }, filteredOut.length);
    if (matched.length === 0) {
      // Nothing to invoke: no function concurrency is ever reserved for it.
      releaseSlot();
      await this.#settle({ succeeded: filteredOut, failed: [], dropped });
      return true;
    }

    const lanes = new Set(matched.map((r) => r.lane).filter((l) => l !== ''));
    for (const lane of lanes) this.#busyLanes.add(lane);
    this.#inFlight += 1;
    m.inFlightBatches.inc({ mapping });
    m.batchSize.observe({ mapping }, matched.length);
    m.batchWait.observe(
      { mapping },
      Math.max(0, Date.now() - Math.min(...matched.map((r) => r.timestampMs))) / 1000,
    );
    const heartbeat = this.#startHeartbeat(matched);
    try {
      let result: InvokeResult | undefined;
      // Built before any unit is held, so a throw here can leave none behind.
      const payload = this.#o.connector.buildEvent(matched);
      let reservation: Reservation;
      try {
        reservation = await this.#passInvokeGate(signal);
      } catch (err) {
        // Never handed to the function (stopping, or its concurrency set to 0 meanwhile): the
        // records go back to the source now rather than when their visibility expires.
        if (!signal.aborted) this.#lastResult = `throttled: ${(err as Error).message}`;
        releaseSlot();
        await this.#settle({ succeeded: filteredOut, failed: [], released: matched, dropped });
        return true;
      }
      try {
        // `run` owns the reservation from here and releases it when the invoke ends.
        result = await this.#o.invoker.run(reservation, { payload });
      } catch (err) {
        // The engine could not run the invoke (environment failed to start…): records go back.
        this.#lastResult = `invoke failed: ${(err as Error).message}`;
      } finally {
        // The function is free again: the settle below needs no function concurrency.
        this.#invokeLimit.release();
        releaseSlot();
      }
      m.invoked.inc({ mapping }, matched.length);
      const verdict: BatchVerdict = result
        ? judgeBatch(matched, result, {
            reportBatchItemFailures: this.#settings.reportBatchItemFailures,
            ordered: this.#settings.ordered,
            ...(this.#o.identify ? { identify: this.#o.identify } : {}),
          })
        : { succeeded: [], failed: matched, functionError: true, reason: this.#lastResult };
      this.#invokeLimit.completed(matched.length, !verdict.functionError);
      if (verdict.functionError) this.#observation.failedBatches += 1;
      else this.#observation.okBatches += 1;
      if (verdict.failed.length > 0) m.failedInvoke.inc({ mapping }, verdict.failed.length);
      this.#lastResult = verdict.failed.length === 0 ? 'OK' : (verdict.reason ?? 'FAILED');

      const afterPolicy =
        verdict.failed.length > 0 && this.#o.failurePolicy
          ? await this.#o.failurePolicy(verdict.failed, verdict)
          : { failed: verdict.failed, dropped: [] };
      for (const d of afterPolicy.dropped) m.dropped.inc({ mapping, reason: d.reason });
      await this.#settle({
        succeeded: [...filteredOut, ...verdict.succeeded],
        failed: afterPolicy.failed,
        dropped: [...dropped, ...afterPolicy.dropped],
      });
      return true;
    } finally {
      // Lanes stay busy until their records are settled, so a lane's next batch sees the outcome.
      clearInterval(heartbeat);
      for (const lane of lanes) this.#busyLanes.delete(lane);
      this.#inFlight -= 1;
      m.inFlightBatches.dec({ mapping });
    }
  }

  /**
   * Waits for an invoke slot of the mapping, then reserves a unit of the function's concurrency;
   * counted as waiting at the intake bound until both are held. On a throw (aborted while waiting
   * for the unit, or the function's reserved concurrency set to 0) neither is held.
   *
   * Always gate, then unit: a unit is held only by an invoke that is running (sync and async
   * invokes, any mapping's batch past its gate) and comes back when it returns, never by anyone
   * waiting for a gate. So a batch holding its gate while it waits for a unit waits on nothing
   * that waits on it — no deadlock. The other order would hold engine-wide units while the tuner
   * keeps a mapping's batches at its gate: concurrency taken from everyone else and left idle,
   * the hoarding this avoids.
   */
  async #passInvokeGate(signal: AbortSignal): Promise<Reservation> {
    const waiting = { mapping: this.name };
    this.#intake.enter();
    this.#o.metrics.waitingBatches.set(waiting, this.#intake.waitingBatches);
    try {
      await this.#invokeLimit.acquire();
      try {
        return await this.#o.invoker.reserve(this.#settings.functionName, signal);
      } catch (err) {
        this.#invokeLimit.release();
        throw err;
      }
    } finally {
      this.#intake.leave();
      this.#o.metrics.waitingBatches.set(waiting, this.#intake.waitingBatches);
    }
  }

  /** Records the filter dropped while a batching window stays open: settled now. */
  async #settleFilteredOut(records: SourceRecord[]): Promise<void> {
    this.#o.metrics.filteredOut.inc({ mapping: this.name }, records.length);
    await this.#settle({ succeeded: records, failed: [], dropped: [] });
  }

  #received(count: number): void {
    this.#o.metrics.polled.inc({ mapping: this.name }, count);
    this.#heldRecords += count;
    this.#o.metrics.heldRecords.set({ mapping: this.name }, this.#heldRecords);
  }

  /** Records no longer held: settled, or left to come back from the source on their own. */
  #release(count: number): void {
    if (count === 0) return;
    this.#heldRecords = Math.max(0, this.#heldRecords - count);
    this.#o.metrics.heldRecords.set({ mapping: this.name }, this.#heldRecords);
  }

  #startHeartbeat(records: SourceRecord[]): NodeJS.Timeout | undefined {
    const c = this.#o.connector;
    if (!c.heartbeat || !c.heartbeatIntervalMs) return undefined;
    const timer = setInterval(() => {
      c.heartbeat?.(records).catch((err: unknown) =>
        this.#o.logger.warn({ err: (err as Error).message }, 'heartbeat failed'),
      );
    }, c.heartbeatIntervalMs);
    timer.unref();
    return timer;
  }

  async #settle(outcome: SettleOutcome): Promise<void> {
    const m = this.#o.metrics;
    // Every list of the outcome holds records this mapping received (whatever lists it has).
    const count = Object.values(outcome).reduce<number>(
      (n, list) => n + (Array.isArray(list) ? list.length : 0),
      0,
    );
    try {
      await this.#o.connector.settle(outcome);
      if (outcome.succeeded.length > 0)
        m.settled.inc({ mapping: this.name, outcome: 'succeeded' }, outcome.succeeded.length);
      if (outcome.failed.length > 0)
        m.settled.inc({ mapping: this.name, outcome: 'failed' }, outcome.failed.length);
    } catch (err) {
      // Unsettled records come back from the source later (at-least-once): log, never crash.
      this.#o.logger.error(
        { err: (err as Error).message },
        'settling a batch failed; its records will be redelivered',
      );
    } finally {
      this.#release(count);
    }
  }

  #invokeMaximum(): number {
    return invokeMaximum(this.#settings, this.#o.connector.maxLanes);
  }

  #scalingFor(): ScalingSettings {
    return scalingFor(this.#settings, this.#o.scaling, this.#o.connector.maxLanes);
  }

  #transition(to: MappingState, reason: string): void {
    if (this.#state === to) return;
    assertTransition(this.name, this.#state, to);
    this.#o.logger.info({ from: this.#state, to, reason }, 'mapping state');
    this.#state = to;
    this.#reason = reason;
  }
}

function emptyObservation(): ScalingObservation {
  return {
    fullPolls: 0,
    emptyPolls: 0,
    partialPolls: 0,
    failedBatches: 0,
    okBatches: 0,
    intakeWaits: 0,
  };
}
