/**
 * The source types of this build — the one place a broker is registered (#16). A new broker is
 * its folder under `connectors/` and one line here.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { kafkaPlugin } from '../../connectors/kafka/plugin.ts';
import { rabbitMqPlugin } from '../../connectors/rabbitmq/plugin.ts';
import { sqsPlugin } from '../../connectors/sqs/plugin.ts';
import type { SluiceConfig } from '../config/types.ts';
import type { ConnectionRegistry } from '../connections/connections.ts';
import { SourcePlugins } from '../connectors/plugin.ts';
import type { DestinationFactory } from '../destinations/destination-factory.ts';

/** What every plugin's builder may use; each plugin declares the part it reads. */
export interface ConnectorDeps {
  config: SluiceConfig;
  connections: ConnectionRegistry;
  logger: Logger;
  /** The engine's destinations (onFailure of Kafka and RabbitMQ mappings, function ones included). */
  destinations: DestinationFactory;
  /** The engine's metrics registry, for connector-specific metrics. */
  metricsRegistry: Registry;
}

/** In this order: the schema's keys and the messages that list source types follow it. */
export const SOURCE_PLUGINS = new SourcePlugins<ConnectorDeps>([
  sqsPlugin,
  kafkaPlugin,
  rabbitMqPlugin,
]);
