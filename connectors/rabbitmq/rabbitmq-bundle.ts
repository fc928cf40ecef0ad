/**
 * Builds the RabbitMQ connector bundle of a mapping from the config: the connector, its bounded
 * redelivery policy and the `batchItemFailures` identity reader. Kept here so the registry entry
 * stays one call.
 */
import type { Logger } from 'pino';
import type { RabbitMqConnectionConfig } from '../../src/connections/connection-configs.ts';
import type { DestinationBase, PluginContext } from '../../src/connectors/plugin.ts';
import type { Destination } from '../../src/destinations/destination.ts';
import type { ConnectorBundle } from '../../src/connectors/types.ts';
import { SluiceError } from '../../src/errors.ts';
import { brokerArn, functionArn } from '../../src/lambda/arn.ts';
import type { RabbitMqMappingConfig } from './rabbitmq-config.ts';
import { RabbitMqConnector } from './rabbitmq-connector.ts';

export interface RabbitMqBundleDeps {
  config: PluginContext;
  logger: Logger;
  /** Builds the mapping's onFailure destination (shared clients; function destinations too). */
  destinations: { get(destination: DestinationBase): Destination };
}

/** How long a fetch waits on an empty buffer: in-memory and cheap, short keeps scaling current. */
const IDLE_WAIT_MS = 2000;

export function rabbitMqBundle(
  mapping: RabbitMqMappingConfig,
  { config, logger, destinations }: RabbitMqBundleDeps,
): ConnectorBundle {
  const connection = config.connections[mapping.source.connection] as
    RabbitMqConnectionConfig | undefined;
  if (connection?.type !== 'rabbitmq') {
    throw new SluiceError(
      'CONFIG_INVALID',
      `mapping ${mapping.name}: connection '${mapping.source.connection}' is not a rabbitmq connection`,
    );
  }
  const connector = new RabbitMqConnector({
    mapping,
    url: connection.url,
    eventSourceArn: brokerArn(config.region, config.accountId, mapping.source.connection),
    functionArn: functionArn(config.region, config.accountId, mapping.functionName),
    onFailure: mapping.onFailure ? destinations.get(mapping.onFailure) : undefined,
    logger,
  });
  return {
    connector,
    failurePolicy: connector.failurePolicy,
    identify: identifyRmqItem,
    idleWaitMs: IDLE_WAIT_MS,
  };
}

/** `itemIdentifier`: the messageId string, or a delivery tag as a string or a whole number. */
export function identifyRmqItem(item: unknown): string | undefined {
  if (typeof item === 'string' && item !== '') return item;
  if (typeof item === 'number' && Number.isSafeInteger(item) && item > 0) return String(item);
  return undefined;
}
