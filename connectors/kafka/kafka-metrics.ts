/**
 * Kafka metrics, named after Lambda's (OffsetLag, MaxOffsetLag, SumOffsetLag, CommittedEventCount,
 * OnFailureDestinationDeliveredEventCount…) plus the rebalance count and the partition ceiling.
 * One set per registry: several Kafka mappings share the series, labelled by mapping.
 */
import type { Registry } from 'prom-client';
import { Counter, Gauge } from 'prom-client';
import type { PartitionLog } from './offset-tracker.ts';

/** What a metric is called and what it means; the labels come with its kind. */
interface MetricText {
  readonly name: string;
  readonly help: string;
}

/**
 * Every Kafka metric's name and help, as data. The constructor below only pairs each entry with
 * its kind and labels, so adding a metric is one entry here and one line there.
 */
const TEXT = {
  offsetLag: {
    name: 'sluice_kafka_offset_lag',
    help: 'Records between the committed offset and the log end, per partition (OffsetLag)',
  },
  maxOffsetLag: {
    name: 'sluice_kafka_max_offset_lag',
    help: 'Largest OffsetLag of the mapping (MaxOffsetLag)',
  },
  sumOffsetLag: {
    name: 'sluice_kafka_sum_offset_lag',
    help: 'Sum of OffsetLag over the partitions this process owns (SumOffsetLag)',
  },
  committed: {
    name: 'sluice_kafka_committed_events_total',
    help: 'Records committed, filtered-out and given-up ones included (CommittedEventCount)',
  },
  commitErrors: {
    name: 'sluice_kafka_commit_errors_total',
    help: 'Offset commits the group refused or that failed (CommitErrorCount)',
  },
  rebalances: {
    name: 'sluice_kafka_rebalances_total',
    help: 'Group (re)joins of this process',
  },
  assignedPartitions: {
    name: 'sluice_kafka_assigned_partitions',
    help: 'Partitions this process owns: the ceiling of batches in flight for the mapping here',
  },
  destinationDelivered: {
    name: 'sluice_kafka_on_failure_delivered_events_total',
    help: 'Given-up records delivered to the onFailure destination (OnFailureDestinationDeliveredEventCount)',
  },
  destinationFailures: {
    name: 'sluice_kafka_destination_delivery_failures_total',
    help: 'Deliveries to the onFailure destination that failed; the records are retried (DestinationDeliveryFailures)',
  },
  dropped: {
    name: 'sluice_kafka_dropped_events_total',
    help: 'Records given up and moved past, by reason (DroppedEventCount)',
  },
} as const satisfies Record<string, MetricText>;

export class KafkaMetrics {
  readonly offsetLag: Gauge<'mapping' | 'partition'>;
  readonly maxOffsetLag: Gauge<'mapping'>;
  readonly sumOffsetLag: Gauge<'mapping'>;
  readonly committed: Counter<'mapping'>;
  readonly commitErrors: Counter<'mapping'>;
  readonly rebalances: Counter<'mapping'>;
  readonly assignedPartitions: Gauge<'mapping'>;
  readonly destinationDelivered: Counter<'mapping'>;
  readonly destinationFailures: Counter<'mapping'>;
  readonly dropped: Counter<'mapping' | 'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const counter = <L extends string>(text: MetricText, ...extraLabels: L[]) =>
      new Counter<'mapping' | L>({ ...text, labelNames: ['mapping', ...extraLabels], registers });
    const gauge = <L extends string>(text: MetricText, ...extraLabels: L[]) =>
      new Gauge<'mapping' | L>({ ...text, labelNames: ['mapping', ...extraLabels], registers });

    this.offsetLag = gauge(TEXT.offsetLag, 'partition');
    this.maxOffsetLag = gauge(TEXT.maxOffsetLag);
    this.sumOffsetLag = gauge(TEXT.sumOffsetLag);
    this.committed = counter(TEXT.committed);
    this.commitErrors = counter(TEXT.commitErrors);
    this.rebalances = counter(TEXT.rebalances);
    this.assignedPartitions = gauge(TEXT.assignedPartitions);
    this.destinationDelivered = counter(TEXT.destinationDelivered);
    this.destinationFailures = counter(TEXT.destinationFailures);
    this.dropped = counter(TEXT.dropped, 'reason');
  }

  /** Sets OffsetLag per partition and Max/SumOffsetLag for a mapping; returns SumOffsetLag. */
  recordLag(mapping: string, logs: Iterable<PartitionLog>): number {
    let sum = 0;
    let max = 0;
    for (const log of logs) {
      const lag = log.lag() ?? 0;
      sum += lag;
      max = Math.max(max, lag);
      this.offsetLag.set({ mapping, partition: log.lane }, lag);
    }
    this.sumOffsetLag.set({ mapping }, sum);
    this.maxOffsetLag.set({ mapping }, max);
    return sum;
  }
}

const byRegistry = new WeakMap<Registry, KafkaMetrics>();

/** The Kafka metrics of `registry`, registered once. */
export function kafkaMetricsFor(registry: Registry): KafkaMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    metrics = new KafkaMetrics(registry);
    byRegistry.set(registry, metrics);
  }
  return metrics;
}
