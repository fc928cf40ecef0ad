export { KafkaConnector } from './kafka-connector.ts';
export type { KafkaConnectorOptions } from './kafka-connector.ts';
export { KafkajsSourceClient } from './kafka-client-adapter.ts';
export type {
  CommittedOffset,
  ConsumerHandlers,
  ConsumerSettings,
  FetchedBatch,
  KafkaSourceClient,
  OffsetCommit,
} from './kafka-client-adapter.ts';
export {
  buildKafkaEvent,
  identifyKafkaItem,
  kafkaHandleOf,
  laneOf,
  recordIdOf,
  toKafkaEventRecord,
  toSourceRecord,
} from './kafka-event.ts';
export type { KafkaEventRecord, KafkaHandle, KafkaMessageLike } from './kafka-event.ts';
export {
  buildFailureRecord,
  decideLaneFailure,
  decodeRetryMetadata,
  encodeRetryMetadata,
  retryDelayMs,
} from './kafka-failure-policy.ts';
export type { KafkaRetrySettings, LaneDecision, LaneFailure } from './kafka-failure-policy.ts';
export { KafkaFailureSink } from './kafka-failure-sink.ts';
export { KafkaMetrics, kafkaMetricsFor } from './kafka-metrics.ts';
export { PartitionLog } from './offset-tracker.ts';
export type { RetryState, BisectState } from './offset-tracker.ts';
export { translateKafkaError } from './kafka-errors.ts';
export { DEFAULT_KAFKA_TUNING, resolveTuning, tuningFromEnv } from './kafka-tuning.ts';
export type { KafkaTuning } from './kafka-tuning.ts';
export { buildKafkaBundle, KAFKA_IDLE_WAIT_MS } from './kafka-bundle.ts';
export type { KafkaBundleDeps } from './kafka-bundle.ts';
