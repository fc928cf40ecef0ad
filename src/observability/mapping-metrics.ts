import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Per-mapping metrics, named after Lambda's event source mapping metrics. Registered on the
 * engine's registry; every series is labelled with the mapping name.
 */
export class MappingMetrics {
  readonly polled: Counter<'mapping'>;
  readonly filteredOut: Counter<'mapping'>;
  readonly invoked: Counter<'mapping'>;
  readonly failedInvoke: Counter<'mapping'>;
  readonly settled: Counter<'mapping' | 'outcome'>;
  readonly dropped: Counter<'mapping' | 'reason'>;
  readonly pollingErrors: Counter<'mapping'>;
  readonly batchSize: Histogram<'mapping'>;
  readonly batchWait: Histogram<'mapping'>;
  readonly inFlightBatches: Gauge<'mapping'>;
  readonly waitingBatches: Gauge<'mapping'>;
  readonly heldRecords: Gauge<'mapping'>;
  readonly concurrency: Gauge<'mapping'>;
  readonly invokeLimit: Gauge<'mapping'>;
  readonly backlog: Gauge<'mapping'>;
  readonly sourceUp: Gauge<'mapping'>;
  readonly lastPollAge: Gauge<'mapping'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.polled = new Counter({
      name: 'sluice_mapping_polled_events_total',
      help: 'Records read from the source (PolledEventCount)',
      labelNames: ['mapping'],
      registers,
    });
    this.filteredOut = new Counter({
      name: 'sluice_mapping_filtered_out_events_total',
      help: 'Records that matched no filter (FilteredOutEventCount)',
      labelNames: ['mapping'],
      registers,
    });
    this.invoked = new Counter({
      name: 'sluice_mapping_invoked_events_total',
      help: 'Records sent to the function (InvokedEventCount)',
      labelNames: ['mapping'],
      registers,
    });
    this.failedInvoke = new Counter({
      name: 'sluice_mapping_failed_invoke_events_total',
      help: 'Records whose invoke failed (FailedInvokeEventCount)',
      labelNames: ['mapping'],
      registers,
    });
    this.settled = new Counter({
      name: 'sluice_mapping_settled_events_total',
      help: 'Records settled at the source: succeeded = deleted/acked/committed (DeletedEventCount, CommittedEventCount), failed = returned for retry',
      labelNames: ['mapping', 'outcome'],
      registers,
    });
    this.dropped = new Counter({
      name: 'sluice_mapping_dropped_events_total',
      help: 'Records given up on and sent to the failure path (DroppedEventCount)',
      labelNames: ['mapping', 'reason'],
      registers,
    });
    this.pollingErrors = new Counter({
      name: 'sluice_mapping_polling_errors_total',
      help: 'Failed polls (PollingErrorCount)',
      labelNames: ['mapping'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'sluice_mapping_batch_size',
      help: 'Records per invoked batch',
      labelNames: ['mapping'],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    });
    this.batchWait = new Histogram({
      name: 'sluice_mapping_batch_wait_seconds',
      help: 'Time from the oldest record reaching the source to its invoke',
      labelNames: ['mapping'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    this.inFlightBatches = new Gauge({
      name: 'sluice_mapping_in_flight_batches',
      help: 'Batches handed to the function: waiting for an invoke slot or being invoked',
      labelNames: ['mapping'],
      registers,
    });
    this.waitingBatches = new Gauge({
      name: 'sluice_mapping_waiting_batches',
      help: 'Batches gathered and waiting for an invoke slot (at most the invoke limit, plus one per poller)',
      labelNames: ['mapping'],
      registers,
    });
    this.heldRecords = new Gauge({
      name: 'sluice_mapping_held_records',
      help: 'Records received from the source and not yet settled (being batched, waiting, invoked or settling): what a crash would leave to come back',
      labelNames: ['mapping'],
      registers,
    });
    this.concurrency = new Gauge({
      name: 'sluice_mapping_pollers',
      help: 'Concurrent pollers (batches the mapping may run at once)',
      labelNames: ['mapping'],
      registers,
    });
    this.invokeLimit = new Gauge({
      name: 'sluice_mapping_invoke_limit',
      help: 'Invokes the mapping may run at once now (the throughput tuner moves it up to maximumConcurrency)',
      labelNames: ['mapping'],
      registers,
    });
    this.backlog = new Gauge({
      name: 'sluice_mapping_source_backlog',
      help: 'Records waiting at the source (SQS ApproximateNumberOfMessages, Kafka SumOffsetLag, RabbitMQ queue depth)',
      labelNames: ['mapping'],
      registers,
    });
    this.sourceUp = new Gauge({
      name: 'sluice_mapping_source_up',
      help: 'Whether an enabled mapping reaches its source: 1 = polling, 0 = down, hung or not connected yet (the reason is in the mapping status and /readyz)',
      labelNames: ['mapping'],
      registers,
    });
    this.lastPollAge = new Gauge({
      name: 'sluice_mapping_last_poll_age_seconds',
      help: 'Seconds since a poll of an enabled mapping last completed (an empty long poll counts)',
      labelNames: ['mapping'],
      registers,
    });
  }
}
