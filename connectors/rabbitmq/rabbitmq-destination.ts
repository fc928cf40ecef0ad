import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { SluiceError } from '../../src/errors.ts';
import type { ConnectionRegistry } from '../../src/connections/connections.ts';
import { decodeUriPart, type DestinationPart } from '../../src/connectors/destination-plugin.ts';
import type { Destination, DestinationMessage } from '../../src/connectors/destination.ts';

/**
 * Publishes each message to an exchange with a routing key on a confirm channel, and resolves
 * once the broker confirmed it. Messages are persistent and mandatory is off (an unroutable
 * message is the broker's business, as with any AMQP publisher).
 */
export class RabbitMqDestination implements Destination {
  readonly description: string;
  readonly #connection: () => Promise<ChannelModel>;
  readonly #exchange: string;
  readonly #routingKey: string;
  #channel: Promise<ConfirmChannel> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(connection: () => Promise<ChannelModel>, exchange: string, routingKey: string) {
    this.#connection = connection;
    this.#exchange = exchange;
    this.#routingKey = routingKey;
    this.description = `rabbitmq://${exchange}/${routingKey}`;
  }

  async send(message: DestinationMessage): Promise<void> {
    if (this.#stopping)
      throw new SluiceError('SHUTDOWN', 'destination stopped', { canRetry: true });
    try {
      const channel = await this.#open();
      await new Promise<void>((resolve, reject) => {
        channel.publish(
          this.#exchange,
          this.#routingKey,
          Buffer.from(message.body, 'utf8'),
          {
            persistent: true,
            contentType: 'application/json',
            ...(message.id ? { messageId: message.id } : {}),
            ...(message.attributes ? { headers: message.attributes } : {}),
          },
          (err: unknown) =>
            err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
        );
      });
    } catch (err) {
      throw new SluiceError(
        'DESTINATION',
        `publish to ${this.description} failed: ${String(err)}`,
        { cause: err, canRetry: true, context: { destination: this.description } },
      );
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const channel = await this.#channel?.catch(() => undefined);
      await channel?.close().catch(() => undefined);
    })();
    return this.#stopping;
  }

  #open(): Promise<ConfirmChannel> {
    if (!this.#channel) {
      const pending = this.#connection().then((conn) => conn.createConfirmChannel());
      const forget = () => {
        if (this.#channel === pending) this.#channel = undefined;
      };
      pending.then((channel) => {
        // A channel closed by the broker (e.g. exchange not found) is replaced on next send.
        channel.on('close', forget);
        channel.on('error', forget);
      }, forget);
      this.#channel = pending;
    }
    return this.#channel;
  }
}

/**
 * A RabbitMQ destination's target: `rabbitmq://<exchange>/<routingKey>`, both percent-decoded; an
 * empty exchange (`rabbitmq:///<queue>`) is the default exchange, which routes to the queue named
 * by the routing key.
 */
export type RabbitMqDestinationTarget = { exchange: string; routingKey: string };

/** RabbitMQ as a destination: published with confirms on the connection's shared client. */
export const rabbitMqDestinationPart: DestinationPart<
  RabbitMqDestinationTarget,
  Pick<ConnectionRegistry, 'amqpConnection'>
> = {
  form: 'rabbitmq://<exchange>/<routingKey>',
  parse(uri) {
    if (!uri.startsWith('rabbitmq://')) return undefined;
    const rest = uri.slice('rabbitmq://'.length);
    const slash = rest.indexOf('/');
    if (slash < 0) return undefined;
    const exchange = decodeUriPart(rest.slice(0, slash));
    const routingKey = decodeUriPart(rest.slice(slash + 1));
    if (exchange === undefined || routingKey === undefined) return undefined;
    if (exchange === '' && routingKey === '') return undefined;
    return { exchange, routingKey };
  },
  build: (d, clients) =>
    new RabbitMqDestination(() => clients.amqpConnection(d.connection), d.exchange, d.routingKey),
};
