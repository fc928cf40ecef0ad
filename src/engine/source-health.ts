import type { Logger } from 'pino';
import type { ConnectorHealth } from '../connectors/types.ts';
import type { MappingMetrics } from '../observability/mapping-metrics.ts';

/** What a mapping shows about its source, in Lambda's terms. */
export interface SourceView {
  healthy: boolean;
  /** The connector's reason code (`EVENT_SOURCE_UNREACHABLE`…) while unhealthy. */
  reason?: string;
  /** `LastProcessingResult` while unhealthy: `PROBLEM: <what the connector says>`. */
  problem?: string;
}

/**
 * The source's health as the mapping reports it: healthy once connected and while the connector
 * says so. Lambda words a source problem as `PROBLEM: …` in LastProcessingResult.
 */
export function sourceView(health: ConnectorHealth, connected: boolean): SourceView {
  if (health.ok && connected) return { healthy: true };
  if (health.ok) return { healthy: false };
  const what = health.detail ?? health.reason ?? 'the event source does not answer';
  return {
    healthy: false,
    reason: health.reason ?? 'EVENT_SOURCE_ERROR',
    problem: `PROBLEM: ${what}`,
  };
}

export interface SourceHealthOptions {
  mapping: string;
  health: () => ConnectorHealth;
  /** The mapping wants to poll (Enabling, Enabled, Updating): its gauges are shown. */
  enabled: () => boolean;
  connected: () => boolean;
  metrics: MappingMetrics;
  logger: Logger;
  /** How often the gauges are refreshed and changes logged; default 1000 ms. */
  intervalMs?: number;
  now?: () => number;
}

/**
 * Watches one mapping's source for the gauges (`sluice_mapping_source_up`,
 * `sluice_mapping_last_poll_age_seconds`) and logs when it goes down or comes back. Status and
 * `/readyz` call `view()` themselves, so they are current at every request; the timer only keeps
 * the metrics current between scrapes.
 */
export class SourceHealthMonitor {
  readonly #o: SourceHealthOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #lastPollAt: number | undefined;
  #wasHealthy: boolean | undefined;

  constructor(options: SourceHealthOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.refresh(), this.#o.intervalMs ?? 1000);
    this.#timer.unref();
    this.refresh();
  }

  /** Stops the timer and removes the mapping's series (a stopped or deleted mapping). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#o.metrics.sourceUp.remove({ mapping: this.#o.mapping });
    this.#o.metrics.lastPollAge.remove({ mapping: this.#o.mapping });
  }

  /** A poll completed (records or not): the source answered. */
  polled(): void {
    this.#lastPollAt = this.#now();
  }

  view(): SourceView {
    return sourceView(this.#o.health(), this.#o.connected());
  }

  /** Updates the gauges and logs a change of health; returns the view. */
  refresh(): SourceView {
    const view = this.view();
    const mapping = this.#o.mapping;
    const m = this.#o.metrics;
    if (!this.#o.enabled()) {
      m.sourceUp.remove({ mapping });
      m.lastPollAge.remove({ mapping });
      this.#wasHealthy = undefined;
      return view;
    }
    m.sourceUp.set({ mapping }, view.healthy ? 1 : 0);
    if (this.#lastPollAt !== undefined)
      m.lastPollAge.set({ mapping }, (this.#now() - this.#lastPollAt) / 1000);
    if (this.#wasHealthy !== undefined && this.#wasHealthy !== view.healthy) {
      if (view.healthy) this.#o.logger.info('event source answers again');
      else this.#o.logger.warn({ reason: view.reason, detail: view.problem }, 'event source down');
    }
    this.#wasHealthy = view.healthy;
    return view;
  }
}
