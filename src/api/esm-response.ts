import type { MappingConfig, SluiceConfig } from '../config/types.ts';
import type { MappingMeta } from '../engine/mapping-manager.ts';
import { brokerArn, eventSourceMappingArn, functionArn, queueArnFromUrl } from '../lambda/arn.ts';

/**
 * The source ARN Lambda would report: the one the source's records carry as `eventSourceARN`
 * (for SQS, in the region of the mapping's connection, as the connector names it).
 */
export function eventSourceArn(config: SluiceConfig, m: MappingConfig): string | undefined {
  switch (m.type) {
    case 'sqs': {
      const connection = config.connections[m.source.connection];
      const region =
        connection?.type === 'sqs' ? (connection.region ?? config.region) : config.region;
      return queueArnFromUrl(m.source.queueUrl, region);
    }
    case 'rabbitmq':
      return brokerArn(config.region, config.accountId, m.source.connection);
    case 'kafka':
      return undefined; // self-managed Kafka has no EventSourceArn on Lambda
  }
}

/** Lambda's `EventSourceMappingConfiguration` JSON for a mapping. */
export function toEsmConfiguration(
  config: SluiceConfig,
  m: MappingConfig,
  meta: MappingMeta,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    UUID: meta.uuid,
    EventSourceMappingArn: eventSourceMappingArn(config.region, config.accountId, meta.uuid),
    FunctionArn: functionArn(config.region, config.accountId, m.functionName),
    BatchSize: m.batchSize,
    MaximumBatchingWindowInSeconds: m.maximumBatchingWindowMs / 1000,
    LastModified: meta.lastModifiedMs / 1000,
    LastProcessingResult: meta.lastProcessingResult,
    State: meta.state,
    StateTransitionReason: meta.stateTransitionReason,
    FunctionResponseTypes: m.reportBatchItemFailures ? ['ReportBatchItemFailures'] : [],
    Tags: {
      'sluice:name': m.name,
      'sluice:origin': meta.origin,
      'sluice:connection': m.source.connection,
    },
  };
  const arn = eventSourceArn(config, m);
  if (arn) out.EventSourceArn = arn;
  if (m.filters.length > 0)
    out.FilterCriteria = { Filters: m.filters.map((f) => ({ Pattern: f.pattern })) };
  if (m.maximumConcurrency !== undefined)
    out.ScalingConfig = { MaximumConcurrency: m.maximumConcurrency };
  if (m.pollers)
    out.ProvisionedPollerConfig = {
      MinimumPollers: m.pollers.minimum,
      MaximumPollers: m.pollers.maximum,
    };
  return { ...out, ...sourceFields(config, m) };
}

/** The fields of one source type (its source, retry and destination settings). */
function sourceFields(config: SluiceConfig, m: MappingConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m.type === 'kafka') {
    const conn = config.connections[m.source.connection];
    out.Topics = [m.source.topic];
    out.StartingPosition = m.source.startingPosition;
    if (m.source.startingPositionTimestampMs !== undefined)
      out.StartingPositionTimestamp = m.source.startingPositionTimestampMs / 1000;
    out.SelfManagedEventSource = {
      Endpoints: { KAFKA_BOOTSTRAP_SERVERS: conn?.type === 'kafka' ? conn.bootstrapServers : [] },
    };
    out.SelfManagedKafkaEventSourceConfig = { ConsumerGroupId: m.source.consumerGroupId };
    out.MaximumRetryAttempts = Number.isFinite(m.maximumRetryAttempts)
      ? m.maximumRetryAttempts
      : -1;
    out.MaximumRecordAgeInSeconds = Number.isFinite(m.maximumRecordAgeMs)
      ? m.maximumRecordAgeMs / 1000
      : -1;
    out.BisectBatchOnFunctionError = m.bisectBatchOnFunctionError;
    if (m.onFailure) out.DestinationConfig = { OnFailure: { Destination: m.onFailure.uri } };
  }
  if (m.type === 'rabbitmq') {
    out.Queues = [m.source.queue];
    out.SourceAccessConfigurations = [{ Type: 'VIRTUAL_HOST', URI: m.source.virtualHost }];
    out.MaximumRetryAttempts = Number.isFinite(m.maximumRetryAttempts)
      ? m.maximumRetryAttempts
      : -1;
    if (m.onFailure) out.DestinationConfig = { OnFailure: { Destination: m.onFailure.uri } };
  }
  return out;
}
