import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { buildKafkaBundle } from '../../connectors/kafka/index.ts';
import { rabbitMqBundle } from '../../connectors/rabbitmq/index.ts';
import { exponentialBackoff, SqsConnector } from '../../connectors/sqs/index.ts';
import type { MappingConfig, SluiceConfig } from '../config/types.ts';
import type { ConnectionRegistry } from '../connections/connections.ts';
import type { DestinationFactory } from '../destinations/destination-factory.ts';
import type { ConnectorBundle } from '../connectors/types.ts';
import type { ConnectorFactory } from '../engine/mapping-manager.ts';
import { SluiceError } from '../errors.ts';

/** Builds one connector bundle per mapping, by source type. New connectors register here. */
export type ConnectorBuilder = (mapping: MappingConfig, deps: ConnectorDeps) => ConnectorBundle;

export interface ConnectorDeps {
  config: SluiceConfig;
  connections: ConnectionRegistry;
  logger: Logger;
  /** The engine's destinations (onFailure of Kafka and RabbitMQ mappings, function ones included). */
  destinations: DestinationFactory;
  /** The engine's metrics registry, for connector-specific metrics. */
  metricsRegistry: Registry;
}

const builders = new Map<string, ConnectorBuilder>();

export function registerConnector(type: MappingConfig['type'], builder: ConnectorBuilder): void {
  builders.set(type, builder);
}

registerConnector('sqs', (mapping, { config, connections, logger }) => {
  if (mapping.type !== 'sqs') throw new Error('unreachable');
  const connection = config.connections[mapping.source.connection];
  return {
    connector: new SqsConnector({
      mapping,
      client: connections.sqsClient(mapping.source.connection),
      // Its own pool: long polls never make settles or other mappings wait for a socket.
      receiveClient: connections.sqsReceiveClient(mapping.source.connection),
      region: connection?.type === 'sqs' ? (connection.region ?? config.region) : config.region,
      logger: logger.child({ connector: 'sqs' }),
      ...(mapping.source.retryBackoff
        ? {
            failedVisibilityTimeoutMs: exponentialBackoff(
              mapping.source.retryBackoff.baseMs,
              mapping.source.retryBackoff.maximumMs,
            ),
          }
        : {}),
    }),
  };
});

registerConnector('rabbitmq', (mapping, deps) => {
  if (mapping.type !== 'rabbitmq') throw new Error('unreachable');
  return rabbitMqBundle(mapping, { ...deps, logger: deps.logger.child({ connector: 'rabbitmq' }) });
});

// Kafka (issue 6): the builder lives with the connector; it also picks up an engine metrics
// registry / destination factory if the deps ever carry them (`metricsRegistry`, `destinations`).
registerConnector('kafka', (mapping, deps) => {
  if (mapping.type !== 'kafka') throw new Error('unreachable');
  return buildKafkaBundle(mapping, deps);
});

export function connectorFactory(deps: ConnectorDeps): ConnectorFactory {
  return (mapping) => {
    const build = builders.get(mapping.type);
    if (!build) {
      throw new SluiceError(
        'CONNECTOR',
        `no connector for ${mapping.type} sources in this build (mapping ${mapping.name})`,
      );
    }
    return build(mapping, deps);
  };
}
