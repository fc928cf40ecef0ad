import type { Logger } from 'pino';
import type { KafkaSourceClient } from './kafka-client-adapter.ts';
import type { KafkaRetrySettings } from './kafka-failure-policy.ts';
import type { KafkaFailureSink } from './kafka-failure-sink.ts';
import type { KafkaMetrics } from './kafka-metrics.ts';
import type { KafkaTuning } from './kafka-tuning.ts';

/** What a `KafkaConnector` is built from (a compiled Kafka mapping plus its clients). */
export interface KafkaConnectorOptions {
  /** Mapping name (logs, metric labels). */
  name: string;
  topic: string;
  consumerGroupId: string;
  startingPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  startingPositionTimestampMs?: number | undefined;
  bootstrapServers: readonly string[];
  /**
   * The mapping's batch size; default 100. A fetch asking for this many records starts a batch;
   * only such a fetch gets a retrying partition's records (see `#take`).
   */
  batchSize?: number;
  retry: KafkaRetrySettings;
  client: KafkaSourceClient;
  failureSink: KafkaFailureSink;
  metrics?: KafkaMetrics | undefined;
  tuning?: Partial<KafkaTuning>;
  logger?: Logger;
  now?: () => number;
}
