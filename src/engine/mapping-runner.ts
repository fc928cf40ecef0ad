import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { BatchPipeline } from './batch-pipeline.ts';
import { BatchSettlement } from './batch-settlement.ts';
import { LaneOrder } from './lane-order.ts';
import { MappingGates } from './mapping-gates.ts';
import { assertTransition, type MappingState } from './mapping-state.ts';
import { Poller, type PollerDeps } from './poller.ts';
import { PollerPool } from './poller-pool.ts';
import {
  concurrencyLimit,
  invokeMaximum,
  scalingFor,
  type MappingRunnerOptions,
  type MappingStatus,
  type RunnerSettings,
  type RunnerSettingsChanges,
} from './runner-settings.ts';
import type { ScalingSettings } from './scaling-policy.ts';
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

/**
 * A result as Lambda words `LastProcessingResult`: `No records processed`, `OK`, or
 * `PROBLEM: <what went wrong>` (tools match on these forms, not on free text).
 */
export function lambdaProcessingResult(result: string): string {
  if (result === 'OK' || result === NO_RECORDS || result.startsWith('PROBLEM:')) return result;
  return `PROBLEM: ${result}`;
}

/**
 * Runs one event source mapping, and is its lifecycle: Lambda's states (mapping-state.ts), the
 * source's start with back-off, enable, disable, update, stop and delete. The work is done by
 * parts it wires together, along the lines of kafkajs's consumer:
 *
 * - `PollerPool` (poller-pool.ts): how many pollers run, following the scaling policy between
 *   the mapping's minimum and maximum;
 * - `Poller` (poller.ts): one receive loop — gates, gather (BatchCollector, which filters), hand off;
 * - `BatchPipeline` (batch-pipeline.ts): invoke → judge → failure policy and settle
 *   (`BatchSettlement`, batch-settlement.ts);
 * - `MappingGates` (mapping-gates.ts): the concurrency gates in the order a batch passes them,
 *   a batch's share owned by one `BatchCapacity`; `LaneOrder` (lane-order.ts): ordering by lane.
 *
 * Capacity before polling, without hoarding: a poller polls only while the function could take a
 * unit, but reserves the unit only once it has records to invoke (mapping-gates.ts).
 */
export class MappingRunner {
  readonly #o: MappingRunnerOptions;
  #settings: RunnerSettings;
  #state: MappingState = 'Creating';
  #reason = 'USER_INITIATED';
  #lastResult = NO_RECORDS;
  #sourceReady = false;
  #starting: Promise<void> | undefined;
  readonly #startAbort = new AbortController();
  #stopping: Promise<{ abandonedBatches: number }> | undefined;
  /** Source health for status, `/readyz` and the source gauges (source-health.ts). */
  readonly #sourceHealth: SourceHealthMonitor;
  readonly #gates: MappingGates;
  readonly #pipeline: BatchPipeline;
  readonly #pool: PollerPool;
  readonly #settlement: BatchSettlement;

  constructor(options: MappingRunnerOptions) {
    this.#o = options;
    this.#settings = options.settings;
    this.#sourceHealth = this.#newSourceHealth();
    this.#gates = this.#newGates();
    const lanes = new LaneOrder();
    const settlement = (this.#settlement = new BatchSettlement({
      mapping: this.name,
      connector: options.connector,
      failurePolicy: options.failurePolicy,
      metrics: options.metrics,
      logger: options.logger,
    }));
    this.#pool = new PollerPool({
      mapping: this.name,
      connector: options.connector,
      runPoller: (signal, retired) =>
        new Poller(this.#pollerDeps(lanes, settlement), signal, retired).run(),
      mayPoll: () => this.#state === 'Enabled' || this.#state === 'Updating',
      waitingPollers: () => this.#gates.waitingPollers,
      metrics: options.metrics,
      logger: options.logger,
    });
    this.#pipeline = new BatchPipeline({
      mapping: this.name,
      connector: options.connector,
      settings: () => this.#settings,
      identify: options.identify,
      invokeLimit: this.#gates.invokeLimit,
      lanes,
      settlement,
      onJudged: (functionError) => this.#pool.batchJudged(functionError),
      report: (result) => (this.#lastResult = lambdaProcessingResult(result)),
      metrics: options.metrics,
      logger: options.logger,
    });
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
      pollers: this.#pool.size,
      inFlightBatches: this.#pipeline.inFlight,
      invokeLimit: this.#gates.invokeLimit.limit,
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
    this.#gates.setLimits(concurrencyLimit(this.#settings), this.#invokeMaximum());
    this.#pool.rescale(this.#scalingFor());
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
      if (wasEnabled) this.#pool.reconcile();
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
      const abandoned = outcome === 'timeout' ? this.#pipeline.inFlight : 0;
      if (abandoned > 0) {
        this.#o.logger.warn(
          { abandonedBatches: abandoned },
          'stop deadline passed; abandoning in-flight batches (their records return to the source)',
        );
      }
      if (!options.keepConnector) {
        // Whatever is still held goes back when the connector closes. A kept connector keeps
        // the heartbeat: batches left running settle through it later.
        this.#settlement.stopHeartbeat();
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
        this.#lastResult = lambdaProcessingResult(health.detail ?? (error as Error).message);
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
        this.#startPolling();
      })
      .catch((err: unknown) => {
        if (!this.#startAbort.signal.aborted)
          this.#o.logger.error({ err }, 'event source start gave up');
      });
  }

  /** The source is started: pollers and tuning start, capped by the lanes it reported (Kafka). */
  #startPolling(): void {
    this.#gates.startTuning(this.#invokeMaximum());
    this.#pool.start(this.#scalingFor());
  }

  /**
   * Pollers stop fetching at once (an in-flight fetch is aborted); batches being invoked finish
   * and are settled. Resolves when every poller has exited.
   */
  async #stopPolling(): Promise<void> {
    this.#gates.stopTuning();
    await this.#pool.stop();
  }

  #pollerDeps(lanes: LaneOrder, settlement: BatchSettlement): PollerDeps {
    const o = this.#o;
    return {
      connector: o.connector,
      filter: o.filter,
      settings: () => this.#settings,
      pipelineDepth: o.pipelineDepth,
      gates: this.#gates,
      lanes,
      pipeline: this.#pipeline,
      settlement,
      onPolled: () => this.#sourceHealth.polled(),
      scaling: this.#pool,
      report: (result) => (this.#lastResult = lambdaProcessingResult(result)),
      mapping: this.name,
      metrics: o.metrics,
      logger: o.logger,
    };
  }

  #newSourceHealth(): SourceHealthMonitor {
    const o = this.#o;
    return new SourceHealthMonitor({
      mapping: o.settings.name,
      health: () => o.connector.health(),
      enabled: () => this.#wantsToPoll(),
      connected: () => this.#sourceReady,
      metrics: o.metrics,
      logger: o.logger,
      ...(o.sourceHealthIntervalMs === undefined ? {} : { intervalMs: o.sourceHealthIntervalMs }),
    });
  }

  #newGates(): MappingGates {
    const o = this.#o;
    const s = o.settings;
    return new MappingGates({
      mapping: s.name,
      functionName: s.functionName,
      invoker: o.invoker,
      maximum: concurrencyLimit(s),
      adaptive: s.adaptiveConcurrency ?? true,
      tuner: {
        ...(s.initialInvokeConcurrency === undefined
          ? {}
          : { initial: s.initialInvokeConcurrency }),
        ...o.tuner,
      },
      collectsOneAtATime: () => o.connector.collectsOneAtATime ?? false,
      metrics: o.metrics,
      logger: o.logger,
    });
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
