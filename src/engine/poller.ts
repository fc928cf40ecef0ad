import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Connector } from '../connectors/types.ts';
import type { MappingMetrics } from '../observability/mapping-metrics.ts';
import type { BatchCapacity } from './batch-capacity.ts';
import { BatchCollector, type CollectedBatch } from './batch-collector.ts';
import type { BatchPipeline } from './batch-pipeline.ts';
import type { BatchSettlement } from './batch-settlement.ts';
import { pipelineDepth, type LaneOrder } from './lane-order.ts';
import type { MappingGates } from './mapping-gates.ts';
import { collectSettingsOf, type RecordFilter, type RunnerSettings } from './runner-settings.ts';

/** What every poller of a mapping shares. */
export interface PollerDeps {
  connector: Connector;
  filter?: RecordFilter | undefined;
  settings: () => RunnerSettings;
  /** Batches one unordered poller may have between hand-off and settle (lane-order.ts). */
  pipelineDepth?: number | undefined;
  gates: MappingGates;
  lanes: LaneOrder;
  pipeline: BatchPipeline;
  settlement: BatchSettlement;
  /** A poll came back (source health: the source answers). */
  onPolled: () => void;
  /** Poller scaling input (poller-pool.ts). */
  scaling: {
    polled(count: number, emptyFetches: number, batchSize: number): void;
    waitedAtIntake(): void;
  };
  /** The mapping's `LastProcessingResult`. */
  report: (result: string) => void;
  mapping: string;
  metrics: MappingMetrics;
  logger: Logger;
}

/**
 * One receive loop: passes the gates up to gathering (mapping-gates.ts), gathers a batch with
 * its own `BatchCollector`, hands it to the pipeline and starts on the next while it runs (up to
 * the pipeline depth). It runs until aborted or retired, then hands back what it still holds.
 */
export class Poller {
  readonly #d: PollerDeps;
  readonly #signal: AbortSignal;
  readonly #retired: () => boolean;
  readonly #collector: BatchCollector;
  /** Batches handed off and not settled yet. */
  readonly #pending = new Set<Promise<void>>();
  readonly #depth: number;
  #failures = 0;

  /** `retired`: the pool wants fewer pollers and this one is surplus (checked every loop). */
  constructor(deps: PollerDeps, signal: AbortSignal, retired: () => boolean) {
    this.#d = deps;
    this.#signal = signal;
    this.#retired = retired;
    this.#collector = new BatchCollector(deps.connector, Date.now, {
      ...(deps.filter ? { filter: deps.filter } : {}),
      settleFilteredOut: (records) => deps.settlement.settleFilteredOut(records),
      onFetched: (records) => deps.settlement.received(records),
    });
    this.#depth = pipelineDepth(deps.settings().ordered, deps.pipelineDepth);
  }

  async run(): Promise<void> {
    try {
      while (this.#goingOn()) {
        while (this.#pending.size >= this.#depth) await Promise.race(this.#pending);
        if (!this.#goingOn()) break;
        // Never gather a batch the function cannot take soon (a poller waiting here holds nothing).
        if (await this.#d.gates.admit(this.#signal)) this.#d.scaling.waitedAtIntake();
        if (!this.#goingOn()) break;
        const capacity = await this.#claim();
        if (capacity === 'stop') break;
        if (capacity === 'retry') continue;
        await this.#gatherAndHandOff(capacity);
      }
    } finally {
      await Promise.allSettled(this.#pending);
      // Records held for a next batch that will not come go back to the source now.
      const carry = this.#collector.takeBuffered();
      if (carry.length > 0)
        await this.#d.settlement.settle({
          succeeded: [],
          failed: [],
          released: carry,
          dropped: [],
        });
    }
  }

  #goingOn(): boolean {
    return !this.#signal.aborted && !this.#retired();
  }

  /**
   * The mapping's and the function's ceilings hold before a receive; the function's unit itself
   * is reserved only for a gathered batch (BatchCapacity.passInvokeGate).
   */
  async #claim(): Promise<BatchCapacity | 'stop' | 'retry'> {
    try {
      return await this.#d.gates.claim(this.#signal);
    } catch (err) {
      if (this.#signal.aborted) return 'stop';
      this.#d.report(`throttled: ${(err as Error).message}`);
      await sleep(1000, undefined, { signal: this.#signal }).catch(() => undefined);
      return 'retry';
    }
  }

  async #gatherAndHandOff(capacity: BatchCapacity): Promise<void> {
    let handedOff = false;
    try {
      const batch = await this.#gather();
      try {
        if (batch.records.length + batch.oversized.length + batch.filteredOut.length > 0) {
          handedOff = true;
          await this.#handOff(batch, capacity);
        }
      } finally {
        // Opens the poller's next window (even after a failed batch: never a stuck lane).
        this.#collector.done();
      }
    } catch (err) {
      await this.#backOff(err as Error);
    } finally {
      if (!handedOff) capacity.release();
    }
  }

  async #gather(): Promise<CollectedBatch> {
    const { gates, lanes, settings } = this.#d;
    const batch = await gates.collect(this.#signal, () =>
      this.#collector.collect(collectSettingsOf(settings()), this.#signal, lanes.busyLanes),
    );
    this.#d.onPolled();
    this.#failures = 0;
    this.#d.scaling.polled(batch.polledCount, batch.emptyFetches, settings().batchSize);
    this.#d.gates.invokeLimit.polled(batch.polledCount, settings().batchSize);
    return batch;
  }

  /** Depth 1 (ordered): the lane's batch must be settled before its next window opens. */
  async #handOff(batch: CollectedBatch, capacity: BatchCapacity): Promise<void> {
    const run = this.#d.pipeline
      .process(batch, capacity, this.#signal)
      .finally(() => capacity.release());
    const task: Promise<void> = run
      .catch((err: unknown) => {
        // Depth 1 awaits `run` below and backs off there; pipelined batches log here.
        if (this.#depth > 1)
          this.#d.logger.error(
            { err: (err as Error).message },
            'handling a batch failed; its records will be redelivered',
          );
      })
      .finally(() => this.#pending.delete(task));
    this.#pending.add(task);
    if (this.#depth === 1) await run;
  }

  async #backOff(err: Error): Promise<void> {
    this.#failures += 1;
    this.#d.metrics.pollingErrors.inc({ mapping: this.#d.mapping });
    const health = this.#d.connector.health();
    this.#d.report(health.detail ?? err.message);
    const delayMs = Math.min(30_000, 250 * 2 ** Math.min(this.#failures, 7));
    this.#d.logger.warn({ err: err.message, retryInMs: delayMs }, 'poll failed');
    await sleep(delayMs, undefined, { signal: this.#signal }).catch(() => undefined);
  }
}
