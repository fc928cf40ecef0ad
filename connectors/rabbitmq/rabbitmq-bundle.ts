/**
 * Builds the RabbitMQ connector bundle of a mapping from the config: the connector, its bounded
 * redelivery policy and the `batchItemFailures` identity reader. Kept here so the registry entry
 * stays one call.
 */
import type { Logger } from 'pino';
import type { RabbitMqMappingConfig, SluiceConfig } from '../../src/config/types.ts';
import type { ConnectionRegistry } from '../../src/destinations/connections.ts';
import type { Destination } from '../../src/destinations/destination.ts';
import { KafkaDestination } from '../../src/destinations/kafka-destination.ts';
import { RabbitMqDestination } from '../../src/destinations/rabbitmq-destination.ts';
import { SqsDestination } from '../../src/destinations/sqs-destination.ts';
import type { ConnectorBundle } from '../../src/engine/mapping-manager.ts';
import { eventSourceArn } from '../../src/engine/esm-response.ts';
import { SluiceError } from '../../src/errors.ts';
import { RabbitMqConnector } from './rabbitmq-connector.ts';

export interface RabbitMqBundleDeps {
  config: SluiceConfig;
  connections: ConnectionRegistry;
  logger: Logger;
}

/** How long a fetch waits on an empty buffer: in-memory and cheap, short keeps scaling current. */
const IDLE_WAIT_MS = 2000;

export function rabbitMqBundle(
  mapping: RabbitMqMappingConfig,
  { config, connections, logger }: RabbitMqBundleDeps,
): ConnectorBundle {
  const connection = config.connections[mapping.source.connection];
  if (connection?.type !== 'rabbitmq') {
    throw new SluiceError(
      'CONFIG_INVALID',
      `mapping ${mapping.name}: connection '${mapping.source.connection}' is not a rabbitmq connection`,
    );
  }
  const connector = new RabbitMqConnector({
    mapping,
    url: connection.url,
    eventSourceArn: eventSourceArn(config, mapping) ?? '',
    functionArn: `arn:aws:lambda:${config.region}:${config.accountId}:function:${mapping.functionName}`,
    onFailure: onFailureDestination(mapping, connections, logger),
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

function onFailureDestination(
  mapping: RabbitMqMappingConfig,
  connections: ConnectionRegistry,
  logger: Logger,
): Destination | undefined {
  const d = mapping.onFailure;
  switch (d?.type) {
    case undefined:
      return undefined;
    case 'sqs':
      return new SqsDestination(() => connections.sqsClient(d.connection), d.queueUrl);
    case 'kafka':
      return new KafkaDestination(() => connections.kafka(d.connection), d.topic);
    case 'rabbitmq':
      return new RabbitMqDestination(
        () => connections.amqpConnection(d.connection),
        d.exchange,
        d.routingKey,
      );
    case 'function':
      // The connector registry has no async-invoke sink to hand over: the queue's DLX or the
      // parking queue take these messages instead.
      logger.error(
        { mapping: mapping.name, destination: d.uri },
        'function destinations are not supported for RabbitMQ mappings; using DLX / parking queue',
      );
      return undefined;
  }
}
