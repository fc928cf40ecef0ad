import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What a metric is called and what it means; the labels and buckets come with its kind. */
interface MetricText {
  readonly name: string;
  readonly help: string;
}

/**
 * Every per-mapping metric's name and help, as data. The constructor below only pairs each entry
 * with its kind and labels, so adding a metric is one entry here and one line there.
 */
const TEXT = {
  polled: {
    name: 'sluice_mapping_polled_events_total',
    help: 'Records read from the source (PolledEventCount)',
  },
  filteredOut: {
    name: 'sluice_mapping_filtered_out_events_total',
    help: 'Records that matched no filter (FilteredOutEventCount)',
  },
  invoked: {
    name: 'sluice_mapping_invoked_events_total',
    help: 'Records sent to the function (InvokedEventCount)',
  },
  failedInvoke: {
    name: 'sluice_mapping_failed_invoke_events_total',
    help: 'Records whose invoke failed (FailedInvokeEventCount)',
  },
  settled: {
    name: 'sluice_mapping_settled_events_total',
    help: 'Records settled at the source: succeeded = deleted/acked/committed (DeletedEventCount, CommittedEventCount), failed = returned for retry',
  },
  dropped: {
    name: 'sluice_mapping_dropped_events_total',
    help: 'Records given up on and sent to the failure path (DroppedEventCount)',
  },
  pollingErrors: {
    name: 'sluice_mapping_polling_errors_total',
    help: 'Failed polls (PollingErrorCount)',
  },
  batchSize: {
    name: 'sluice_mapping_batch_size',
    help: 'Records per invoked batch',
  },
  batchWait: {
    name: 'sluice_mapping_batch_wait_seconds',
    help: 'Time from the oldest record reaching the source to its invoke',
  },
  inFlightBatches: {
    name: 'sluice_mapping_in_flight_batches',
    help: 'Batches handed to the function: waiting for an invoke slot or being invoked',
  },
  waitingBatches: {
    name: 'sluice_mapping_waiting_batches',
    help: 'Batches gathered and waiting for an invoke slot (at most the invoke limit, plus one per poller)',
  },
  heldRecords: {
    name: 'sluice_mapping_held_records',
    help: 'Records received from the source and not yet settled (being batched, waiting, invoked or settling): what a crash would leave to come back',
  },
  concurrency: {
    name: 'sluice_mapping_pollers',
    help: 'Concurrent pollers (batches the mapping may run at once)',
  },
  invokeLimit: {
    name: 'sluice_mapping_invoke_limit',
    help: 'Invokes the mapping may run at once now (the throughput tuner moves it up to maximumConcurrency)',
  },
  backlog: {
    name: 'sluice_mapping_source_backlog',
    help: 'Records waiting at the source (SQS ApproximateNumberOfMessages, Kafka SumOffsetLag, RabbitMQ queue depth)',
  },
  sourceUp: {
    name: 'sluice_mapping_source_up',
    help: 'Whether an enabled mapping reaches its source: 1 = polling, 0 = down, hung or not connected yet (the reason is in the mapping status and /readyz)',
  },
  lastPollAge: {
    name: 'sluice_mapping_last_poll_age_seconds',
    help: 'Seconds since a poll of an enabled mapping last completed (an empty long poll counts)',
  },
} as const satisfies Record<string, MetricText>;

const BATCH_SIZE_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
const BATCH_WAIT_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

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
    const counter = <L extends string>(text: MetricText, ...extraLabels: L[]) =>
      new Counter<'mapping' | L>({ ...text, labelNames: ['mapping', ...extraLabels], registers });
    const gauge = (text: MetricText) =>
      new Gauge<'mapping'>({ ...text, labelNames: ['mapping'], registers });
    const histogram = (text: MetricText, buckets: number[]) =>
      new Histogram<'mapping'>({ ...text, labelNames: ['mapping'], buckets, registers });

    this.polled = counter(TEXT.polled);
    this.filteredOut = counter(TEXT.filteredOut);
    this.invoked = counter(TEXT.invoked);
    this.failedInvoke = counter(TEXT.failedInvoke);
    this.settled = counter(TEXT.settled, 'outcome');
    this.dropped = counter(TEXT.dropped, 'reason');
    this.pollingErrors = counter(TEXT.pollingErrors);
    this.batchSize = histogram(TEXT.batchSize, BATCH_SIZE_BUCKETS);
    this.batchWait = histogram(TEXT.batchWait, BATCH_WAIT_BUCKETS_SECONDS);
    this.inFlightBatches = gauge(TEXT.inFlightBatches);
    this.waitingBatches = gauge(TEXT.waitingBatches);
    this.heldRecords = gauge(TEXT.heldRecords);
    this.concurrency = gauge(TEXT.concurrency);
    this.invokeLimit = gauge(TEXT.invokeLimit);
    this.backlog = gauge(TEXT.backlog);
    this.sourceUp = gauge(TEXT.sourceUp);
    this.lastPollAge = gauge(TEXT.lastPollAge);
  }
}
