import type { Logger } from 'pino';
import type { Connector } from '../connectors/types.ts';
import type { MappingMetrics } from '../observability/mapping-metrics.ts';
import {
  nextPollerCount,
  type ScalingObservation,
  type ScalingSettings,
} from './scaling-policy.ts';

/** How often the backlog gauge is refreshed from the source. */
const BACKLOG_INTERVAL_MS = 5000;

export interface PollerPoolOptions {
  mapping: string;
  connector: Connector;
  /** Starts one receive loop; it ends when `signal` aborts or `retired()` turns true. */
  runPoller: (signal: AbortSignal, retired: () => boolean) => Promise<void>;
  /** Whether pollers may run now (the mapping is Enabled or Updating). */
  mayPoll: () => boolean;
  /** Pollers waiting at the intake now (intake-gate.ts). */
  waitingPollers: () => number;
  metrics: MappingMetrics;
  logger: Logger;
}

/**
 * The pollers (receive loops) of one mapping and how many there are: every scaling interval the
 * pure `nextPollerCount` (scaling-policy.ts) turns what the pollers observed into a new target;
 * missing pollers start at once, surplus ones finish their current batch and retire. Also keeps
 * the backlog gauge while polling.
 */
export class PollerPool {
  readonly #o: PollerPoolOptions;
  readonly #pollers = new Map<number, { abort: AbortController; done: Promise<void> }>();
  #nextId = 0;
  #target = 0;
  #scaling: ScalingSettings | undefined;
  #observation: ScalingObservation = emptyObservation();
  #scaler: NodeJS.Timeout | undefined;
  #backlogTimer: NodeJS.Timeout | undefined;

  constructor(options: PollerPoolOptions) {
    this.#o = options;
  }

  /** Pollers running now (retiring ones included, until they exit). */
  get size(): number {
    return this.#pollers.size;
  }

  /** A poll came back with `count` records (`emptyFetches` fetches returned none). */
  polled(count: number, emptyFetches: number, batchSize: number): void {
    const o = this.#observation;
    if (count === 0) o.emptyPolls += Math.max(1, emptyFetches);
    else if (count >= batchSize) o.fullPolls += 1;
    else o.partialPolls += 1;
  }

  /** A poller had to wait at the intake: the function, not the source, is what binds. */
  waitedAtIntake(): void {
    this.#observation.intakeWaits += 1;
  }

  /** A batch was judged: function errors and throttles back the pollers off. */
  batchJudged(functionError: boolean): void {
    if (functionError) this.#observation.failedBatches += 1;
    else this.#observation.okBatches += 1;
  }

  /** Polling starts: the initial pollers, the scaling timer and the backlog gauge. */
  start(scaling: ScalingSettings): void {
    this.#scaling = scaling;
    this.#target = scaling.initial;
    this.reconcile();
    clearInterval(this.#scaler);
    this.#scaler = setInterval(() => this.#scale(), scaling.intervalMs);
    this.#scaler.unref();
    const backlog = this.#o.connector.backlog?.bind(this.#o.connector);
    if (backlog) {
      clearInterval(this.#backlogTimer);
      this.#backlogTimer = setInterval(() => {
        backlog()
          .then(
            (n) => n !== undefined && this.#o.metrics.backlog.set({ mapping: this.#o.mapping }, n),
          )
          .catch(() => undefined);
      }, BACKLOG_INTERVAL_MS);
      this.#backlogTimer.unref();
    }
  }

  /** Settings changed: new bounds, the target clamped into them (the caller reconciles). */
  rescale(scaling: ScalingSettings): void {
    this.#scaling = scaling;
    this.#target = Math.min(Math.max(this.#target, scaling.minimum), scaling.maximum);
  }

  /** Starts pollers up to the target; surplus ones retire by themselves (`retired`). */
  reconcile(): void {
    if (!this.#o.mayPoll()) return;
    while (this.#pollers.size < this.#target) this.#startPoller();
    this.#o.metrics.concurrency.set({ mapping: this.#o.mapping }, this.#target);
  }

  /** Stops the timers and every poller (an in-flight fetch is aborted); resolves when all exit. */
  async stop(): Promise<void> {
    clearInterval(this.#scaler);
    clearInterval(this.#backlogTimer);
    this.#target = 0;
    const pollers = [...this.#pollers.values()];
    for (const p of pollers) p.abort.abort();
    await Promise.allSettled(pollers.map((p) => p.done));
  }

  #scale(): void {
    if (!this.#scaling) return;
    // Pollers still waiting at the intake count too (they may have waited all interval long).
    const observed = {
      ...this.#observation,
      intakeWaits: this.#observation.intakeWaits + this.#o.waitingPollers(),
    };
    const next = nextPollerCount(this.#target, this.#scaling, observed);
    if (next !== this.#target)
      this.#o.logger.debug({ from: this.#target, to: next, observed }, 'scaling pollers');
    this.#observation = emptyObservation();
    this.#target = next;
    this.reconcile();
  }

  #startPoller(): void {
    const id = this.#nextId++;
    const abort = new AbortController();
    const done = this.#o
      .runPoller(abort.signal, () => this.#surplus(id))
      .catch((err: unknown) => this.#o.logger.error({ err, poller: id }, 'poller failed'))
      .finally(() => this.#pollers.delete(id));
    this.#pollers.set(id, { abort, done });
  }

  #surplus(id: number): boolean {
    // Lowest ids are kept; the highest-numbered pollers above the target retire.
    let rank = 0;
    for (const other of this.#pollers.keys()) if (other < id) rank += 1;
    return rank >= this.#target;
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
