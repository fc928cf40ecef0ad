import { CountingSemaphore } from '../invoker/counting-semaphore.ts';
import {
  defaultTunerSettings,
  initialTunerState,
  tunerStep,
  type TunerSettings,
  type TunerState,
} from './concurrency-tuner.ts';

/** Records, batches and demand seen since the current window opened. */
interface WindowCounts {
  startMs: number;
  records: number;
  batches: number;
  failedBatches: number;
  acquires: number;
  waited: number;
  fullPolls: number;
  otherPolls: number;
}

export interface InvokeLimitOptions {
  /** The mapping's ceiling on invokes in flight (maximumConcurrency, or the engine's). */
  maximum: number;
  /** Tune the limit for throughput (default true); false = always the maximum. */
  adaptive: boolean;
  /** Tuner overrides (tests use short windows). */
  tuner?: Partial<TunerSettings>;
  /** Told when the tuner moves the limit (logging, metrics). */
  onChange?: (limit: number, state: TunerState) => void;
  now?: () => number;
}

/**
 * The gate every invoke of a mapping passes: a semaphore whose limit the throughput tuner
 * (concurrency-tuner.ts) moves between 1 and the mapping's maximum, fed with what this class
 * counts. With `adaptive: false` the limit stays at the maximum (Lambda's behaviour).
 */
export class InvokeLimit {
  readonly #o: InvokeLimitOptions;
  readonly #gate: CountingSemaphore;
  readonly #now: () => number;
  #maximum: number;
  #settings: TunerSettings;
  #state: TunerState;
  #counts: WindowCounts;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: InvokeLimitOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#maximum = options.maximum;
    this.#settings = this.#settingsFor(options.maximum);
    this.#state = initialTunerState(this.#settings);
    this.#gate = new CountingSemaphore(this.#effectiveLimit());
    this.#counts = this.#freshCounts();
  }

  /** Invokes allowed in flight now. */
  get limit(): number {
    return this.#gate.limit;
  }

  get state(): TunerState {
    return this.#state;
  }

  /** Waits for an invoke slot (counted: a wait is the tuner's sign of demand). */
  async acquire(): Promise<void> {
    this.#counts.acquires += 1;
    if (this.#gate.tryAcquire()) return;
    this.#counts.waited += 1;
    await this.#gate.acquire();
  }

  release(): void {
    this.#gate.release();
  }

  /** An invoke returned: its records count towards the window's rate when it succeeded. */
  completed(records: number, succeeded: boolean): void {
    this.#counts.batches += 1;
    if (succeeded) this.#counts.records += records;
    else this.#counts.failedBatches += 1;
  }

  /** A poll returned `count` records: full ones with no empty ones mean the source has a backlog. */
  polled(count: number, batchSize: number): void {
    if (count >= batchSize) this.#counts.fullPolls += 1;
    else this.#counts.otherPolls += 1;
  }

  /** Starts measuring (idempotent). */
  start(): void {
    if (!this.#o.adaptive || this.#running) return;
    this.#running = true;
    this.#counts = this.#freshCounts();
    // The first window holds the mapping's start (consumer set-up, prefetch filling, pollers
    // ramping): a whole window, not a settle, passes before the first figure is taken.
    this.#state = { ...this.#state, settling: true };
    this.#schedule(this.#settings.windowMs);
  }

  /** Stops measuring; the limit and what was learned stay for a later start. Idempotent. */
  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delayMs?: number): void {
    if (!this.#running) return;
    const s = this.#settings;
    this.#timer = setTimeout(
      () => {
        this.#tick();
        this.#schedule();
      },
      delayMs ?? (this.#state.settling ? s.settleMs : s.windowMs),
    );
    this.#timer.unref();
  }

  /** A new maximum (mapping updated): learned figures are kept, the limit is clamped. */
  setMaximum(maximum: number): void {
    this.#maximum = maximum;
    this.#settings = this.#settingsFor(maximum);
    this.#state = { ...this.#state, limit: Math.min(this.#state.limit, this.#settings.maximum) };
    this.#gate.setLimit(this.#effectiveLimit());
  }

  #tick(): void {
    const c = this.#counts;
    const elapsedMs = this.#now() - c.startMs;
    // Too few batches to say anything: extend the window (slow functions), up to a point. A
    // settling window is skipped whatever it holds.
    const thin = c.batches < this.#settings.minBatches && elapsedMs < 20 * this.#settings.windowMs;
    if (thin && !this.#state.settling) return;
    const backlog = c.fullPolls > 0 && c.fullPolls >= c.otherPolls;
    const saturated = (c.acquires > 0 && c.waited * 2 >= c.acquires) || backlog;
    const before = this.#state.limit;
    this.#state = tunerStep(this.#state, this.#settings, {
      records: c.records,
      batches: c.batches,
      failedBatches: c.failedBatches,
      elapsedMs,
      saturated,
    });
    this.#counts = this.#freshCounts();
    if (this.#state.limit !== before) {
      this.#gate.setLimit(this.#effectiveLimit());
      this.#o.onChange?.(this.#state.limit, this.#state);
    }
  }

  #effectiveLimit(): number {
    // Not adaptive: the maximum itself, which may be unbounded (the engine's ceilings apply).
    return this.#o.adaptive ? this.#state.limit : this.#maximum;
  }

  #settingsFor(maximum: number): TunerSettings {
    const max = Math.max(1, Number.isFinite(maximum) ? maximum : 1250);
    const s = { ...defaultTunerSettings(max), ...this.#o.tuner, maximum: max };
    return { ...s, initial: Math.min(s.initial, max) };
  }

  #freshCounts(): WindowCounts {
    return {
      startMs: this.#now(),
      records: 0,
      batches: 0,
      failedBatches: 0,
      acquires: 0,
      waited: 0,
      fullPolls: 0,
      otherPolls: 0,
    };
  }
}
