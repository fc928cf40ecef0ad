import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The engine's Prometheus metrics. One registry per engine (not prom-client's global one) so that
 * several engines in one process — tests, benchmarks — never mix their figures.
 * Names follow Lambda's CloudWatch metrics, in Prometheus style.
 */
export class EngineMetrics {
  readonly registry = new Registry();

  readonly invocations = new Counter({
    name: 'sluice_invocations_total',
    help: 'Invokes that ran in an environment (Lambda: Invocations)',
    labelNames: ['function'] as const,
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: 'sluice_errors_total',
    help: 'Invokes that ended in a function or platform error (Lambda: Errors)',
    labelNames: ['function', 'error_type'] as const,
    registers: [this.registry],
  });

  readonly throttles = new Counter({
    name: 'sluice_throttles_total',
    help: 'Invoke requests refused by a concurrency ceiling (Lambda: Throttles)',
    labelNames: ['function', 'reason'] as const,
    registers: [this.registry],
  });

  readonly duration = new Histogram({
    name: 'sluice_invoke_duration_seconds',
    help: 'Time from handing the event to the environment to its result (Lambda: Duration)',
    labelNames: ['function'] as const,
    buckets: [
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
    ],
    registers: [this.registry],
  });

  readonly concurrentExecutions = new Gauge({
    name: 'sluice_concurrent_executions',
    help: 'Invokes running now (Lambda: ConcurrentExecutions)',
    labelNames: ['function'] as const,
    registers: [this.registry],
  });

  readonly coldStarts = new Counter({
    name: 'sluice_cold_starts_total',
    help: 'Environments started (on-demand or provisioned)',
    labelNames: ['function', 'initialization_type'] as const,
    registers: [this.registry],
  });

  readonly initDuration = new Histogram({
    name: 'sluice_init_duration_seconds',
    help: 'INIT phase duration of new environments',
    labelNames: ['function'] as const,
    buckets: [0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });

  readonly environments = new Gauge({
    name: 'sluice_environments',
    help: 'Live execution environments by state',
    labelNames: ['function', 'state'] as const,
    registers: [this.registry],
  });

  readonly asyncEventsReceived = new Counter({
    name: 'sluice_async_events_received_total',
    help: 'Asynchronous invokes accepted into the durable queue (Lambda: AsyncEventsReceived)',
    labelNames: ['function'] as const,
    registers: [this.registry],
  });

  readonly asyncEventAge = new Histogram({
    name: 'sluice_async_event_age_seconds',
    help: 'Time from an async event being queued to an invoke of it starting (Lambda: AsyncEventAge)',
    labelNames: ['function'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 900, 3600, 21600],
    registers: [this.registry],
  });

  readonly asyncEventsDropped = new Counter({
    name: 'sluice_async_events_dropped_total',
    help: 'Async events given up without a successful invoke, after failure handling (Lambda: AsyncEventsDropped)',
    labelNames: ['function', 'reason'] as const,
    registers: [this.registry],
  });

  readonly destinationDeliveryFailures = new Counter({
    name: 'sluice_destination_delivery_failures_total',
    help: 'Failed attempts to send an invocation record to an onSuccess/onFailure destination (Lambda: DestinationDeliveryFailures)',
    labelNames: ['function', 'role'] as const,
    registers: [this.registry],
  });

  readonly deadLetterErrors = new Counter({
    name: 'sluice_dead_letter_errors_total',
    help: 'Failed attempts to send an event to its dead-letter destination (Lambda: DeadLetterErrors)',
    labelNames: ['function'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics)
      collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
  }

  /** The text exposition for `GET /metrics`. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
