import type { DestinationConfig } from '../config/types.ts';
import type { ConnectionRegistry } from '../connections/connections.ts';
import type { Destination } from './destination.ts';
import type { AsyncInvokeSink } from '../lambda/async-invocation.ts';
import { FunctionDestination } from './function-destination.ts';
import { KafkaDestination } from './kafka-destination.ts';
import { RabbitMqDestination } from './rabbitmq-destination.ts';
import { SqsDestination } from './sqs-destination.ts';

/** Builds destinations from their config and shares one instance per target. */
export class DestinationFactory {
  readonly #connections: ConnectionRegistry;
  readonly #sink: AsyncInvokeSink;
  readonly #cache = new Map<string, Destination>();
  #stopping: Promise<void> | undefined;

  constructor(connections: ConnectionRegistry, functionSink: AsyncInvokeSink) {
    this.#connections = connections;
    this.#sink = functionSink;
  }

  get(config: DestinationConfig): Destination {
    const key = cacheKey(config);
    let destination = this.#cache.get(key);
    if (!destination) {
      destination = this.#create(config);
      this.#cache.set(key, destination);
    }
    return destination;
  }

  /** Stops every destination, each even if another failed; idempotent and awaitable. */
  stop(): Promise<void> {
    this.#stopping ??= Promise.allSettled([...this.#cache.values()].map((d) => d.stop())).then(() =>
      this.#cache.clear(),
    );
    return this.#stopping;
  }

  #create(config: DestinationConfig): Destination {
    const c = this.#connections;
    switch (config.type) {
      case 'sqs':
        return new SqsDestination(() => c.sqsClient(config.connection), config.queueUrl);
      case 'kafka':
        return new KafkaDestination(() => c.kafka(config.connection), config.topic);
      case 'rabbitmq':
        return new RabbitMqDestination(
          () => c.amqpConnection(config.connection),
          config.exchange,
          config.routingKey,
        );
      case 'function':
        return new FunctionDestination(this.#sink, config.functionName);
    }
  }
}

function cacheKey(config: DestinationConfig): string {
  switch (config.type) {
    case 'sqs':
      return `sqs|${config.connection}|${config.queueUrl}`;
    case 'kafka':
      return `kafka|${config.connection}|${config.topic}`;
    case 'rabbitmq':
      return `rabbitmq|${config.connection}|${config.exchange}|${config.routingKey}`;
    case 'function':
      return `function|${config.functionName}`;
  }
}
