import type { Kafka, Producer } from 'kafkajs';
import { SluiceError } from '../../src/errors.ts';
import type { Destination, DestinationMessage } from '../../src/connectors/destination.ts';
import type { ConnectionRegistry } from '../../src/connections/connections.ts';
import { decodeUriPart, type DestinationPart } from '../../src/connectors/destination-plugin.ts';

/**
 * Produces each message to a topic with acks from all in-sync replicas. The idempotent producer
 * stays off: it needs broker ACLs some clusters do not grant, and delivery is at-least-once
 * anyway (a retried delivery may duplicate; consumers of records dedupe by request id).
 */
export class KafkaDestination implements Destination {
  readonly description: string;
  readonly #kafka: () => Kafka;
  readonly #topic: string;
  #producer: Promise<Producer> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(kafka: () => Kafka, topic: string) {
    this.#kafka = kafka;
    this.#topic = topic;
    this.description = `kafka://${topic}`;
  }

  async send(message: DestinationMessage): Promise<void> {
    if (this.#stopping)
      throw new SluiceError('SHUTDOWN', 'destination stopped', { canRetry: true });
    try {
      const producer = await this.#connect();
      await producer.send({
        topic: this.#topic,
        acks: -1,
        messages: [
          {
            key: message.key ?? null,
            value: message.body,
            ...(message.attributes ? { headers: message.attributes } : {}),
          },
        ],
      });
    } catch (err) {
      throw new SluiceError('DESTINATION', `produce to ${this.#topic} failed: ${String(err)}`, {
        cause: err,
        canRetry: true,
        context: { destination: this.description },
      });
    }
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const producer = await this.#producer?.catch(() => undefined);
      await producer?.disconnect().catch(() => undefined);
    })();
    return this.#stopping;
  }

  #connect(): Promise<Producer> {
    if (!this.#producer) {
      const producer = this.#kafka().producer({ idempotent: false, allowAutoTopicCreation: true });
      const pending = producer.connect().then(() => producer);
      // A failed connect is forgotten so the next delivery tries again.
      pending.catch(() => {
        if (this.#producer === pending) this.#producer = undefined;
      });
      this.#producer = pending;
    }
    return this.#producer;
  }
}

/** A Kafka destination's target: `kafka://<topic>` (percent-decoded). */
export type KafkaDestinationTarget = { topic: string };

/** Kafka as a destination: `kafka://<topic>`, produced through the connection's shared client. */
export const kafkaDestinationPart: DestinationPart<
  KafkaDestinationTarget,
  Pick<ConnectionRegistry, 'kafka'>
> = {
  form: 'kafka://<topic>',
  parse(uri) {
    if (!uri.startsWith('kafka://')) return undefined;
    const topic = decodeUriPart(uri.slice('kafka://'.length));
    return topic !== undefined && /^[A-Za-z0-9._-]{1,249}$/.test(topic) ? { topic } : undefined;
  },
  build: (d, clients) => new KafkaDestination(() => clients.kafka(d.connection), d.topic),
};
