/**
 * Builds everything a Kafka mapping needs from its compiled config: the connector on the
 * connection's shared kafkajs client, the failure policy hook, the `itemIdentifier` parser and the
 * onFailure destination (reusing the engine's destination classes over the shared connections).
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ConnectionRegistry } from '../../src/connections/connections.ts';
import type { KafkaConnectionConfig } from '../../src/connections/connection-configs.ts';
import type { DestinationBase, PluginContext } from '../../src/connectors/plugin.ts';
import type { Destination } from '../../src/destinations/destination.ts';
import type { ConnectorBundle } from '../../src/connectors/types.ts';
import { SluiceError } from '../../src/errors.ts';
import { functionArn } from '../../src/lambda/arn.ts';
import type { KafkaMappingConfig } from './kafka-config.ts';
import { KafkajsSourceClient } from './kafka-client-adapter.ts';
import { KafkaConnector } from './kafka-connector.ts';
import { identifyKafkaItem } from './kafka-event.ts';
import { KafkaFailureSink } from './kafka-failure-sink.ts';
import { kafkaMetricsFor } from './kafka-metrics.ts';
import { tuningFromEnv, type KafkaTuning } from './kafka-tuning.ts';

export interface KafkaBundleDeps {
  config: PluginContext;
  connections: ConnectionRegistry;
  logger: Logger;
  /** The engine's metrics registry. */
  metricsRegistry: Registry;
  /** Builds the mapping's onFailure destination (shared clients; function destinations too). */
  destinations: { get(destination: DestinationBase): Destination };
  tuning?: Partial<KafkaTuning>;
}

/**
 * How long an empty fetch waits before the poller gets control back, ms. Short, so pollers above
 * the partition count (which never get records) show up as empty polls and are scaled away.
 */
export const KAFKA_IDLE_WAIT_MS = 1000;

export function buildKafkaBundle(
  mapping: KafkaMappingConfig,
  deps: KafkaBundleDeps,
): ConnectorBundle {
  const connection = deps.config.connections[mapping.source.connection] as
    KafkaConnectionConfig | undefined;
  if (connection?.type !== 'kafka') {
    throw new SluiceError(
      'CONFIG_INVALID',
      `mapping ${mapping.name}: connection '${mapping.source.connection}' is not a kafka connection`,
    );
  }
  const logger = deps.logger.child({ connector: 'kafka', mapping: mapping.name });
  const failureSink = new KafkaFailureSink({
    destination: mapping.onFailure ? failureDestination(mapping, deps) : undefined,
    functionArn: functionArn(deps.config.region, deps.config.accountId, mapping.functionName),
    bootstrapServers: connection.bootstrapServers.join(','),
    logger,
  });
  const connector = new KafkaConnector({
    name: mapping.name,
    topic: mapping.source.topic,
    consumerGroupId: mapping.source.consumerGroupId,
    startingPosition: mapping.source.startingPosition,
    startingPositionTimestampMs: mapping.source.startingPositionTimestampMs,
    bootstrapServers: connection.bootstrapServers,
    batchSize: mapping.batchSize,
    retry: {
      maximumRetryAttempts: mapping.maximumRetryAttempts,
      maximumRecordAgeMs: mapping.maximumRecordAgeMs,
      bisectBatchOnFunctionError: mapping.bisectBatchOnFunctionError,
    },
    client: new KafkajsSourceClient(deps.connections.kafka(mapping.source.connection)),
    failureSink,
    metrics: kafkaMetricsFor(deps.metricsRegistry),
    // Defaults < the operator's environment < this mapping's YAML < the caller's (tests).
    tuning: { ...tuningFromEnv(), ...mappingTuning(mapping), ...deps.tuning },
    logger,
  });
  return {
    connector,
    failurePolicy: (failed, verdict) => connector.applyFailurePolicy(failed, verdict),
    identify: identifyKafkaItem,
    idleWaitMs: KAFKA_IDLE_WAIT_MS,
  };
}

/** The mapping's own tuning keys, where it sets them. */
function mappingTuning(mapping: KafkaMappingConfig): Partial<KafkaTuning> {
  const { sessionTimeoutMs, heartbeatIntervalMs, commitIntervalMs } = mapping.source;
  return {
    ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
    ...(heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs }),
    ...(commitIntervalMs === undefined ? {} : { commitIntervalMs }),
  };
}

function failureDestination(mapping: KafkaMappingConfig, deps: KafkaBundleDeps): Destination {
  if (!mapping.onFailure) throw new Error('unreachable');
  return deps.destinations.get(mapping.onFailure);
}
