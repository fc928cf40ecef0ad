/**
 * The I/O half of redelivery and dead-lettering (decisions in `redelivery-policy.ts`): republishing
 * a counted copy, publishing to the parking queue, sending to the onFailure destination. Every
 * publish waits for the broker's confirm before the caller acks the original, so a message is
 * never lost — a crash between the two leaves a duplicate at worst.
 */
import type { ConfirmChannel, Options } from 'amqplib';
import type { Logger } from 'pino';
import type { SettleOutcome, SourceRecord } from '../../src/connectors/types.ts';
import type { Destination } from '../../src/destinations/destination.ts';
import type { ChannelSupervisor } from './channel-supervisor.ts';
import { failureRecord, parkingQueueName } from './redelivery-policy.ts';
import {
  buildRmqEvent,
  rmqHandleOf,
  SLUICE_DELIVERY_COUNT,
  type AmqpDelivery,
  type RmqQueueIdentity,
} from './rmq-event.ts';

export interface FailurePathOptions {
  supervisor: ChannelSupervisor;
  identity: RmqQueueIdentity;
  /** The user the connection authenticates as: a copied `userId` must match it or the broker refuses. */
  username: string;
  destination: Destination | undefined;
  functionArn: string;
  logger: Logger;
  now: () => number;
}

/** What happened to each record: `done` may be acked; `back` must be requeued. */
export interface PathResult {
  done: SourceRecord[];
  back: SourceRecord[];
}

export class FailurePath {
  readonly #o: FailurePathOptions;
  /** Session whose confirm channel declared the parking queue. */
  #parkingDeclared: { channel: ConfirmChannel; done: Promise<unknown> } | undefined;

  constructor(options: FailurePathOptions) {
    this.#o = options;
  }

  /** Publishes a copy of each record with its failure count + 1 to the queue's tail. */
  async republish(records: readonly SourceRecord[]): Promise<PathResult> {
    const queue = this.#o.identity.queue;
    return this.#publishEach(records, async (channel, record) => {
      const handle = rmqHandleOf(record);
      const headers = {
        ...handle.delivery.properties.headers,
        [SLUICE_DELIVERY_COUNT]: handle.attemptsBefore + 1,
      };
      await confirmPublish(channel, '', queue, handle.delivery, headers, this.#o.username);
    });
  }

  /** Sends dropped records to the onFailure destination or, without one, the parking queue. */
  async deadLetter(
    dropped: SettleOutcome['dropped'],
    route: 'destination' | 'parking',
  ): Promise<PathResult> {
    const reasons = new Map(dropped.map((d) => [d.record, d]));
    const records = dropped.map((d) => d.record);
    if (route === 'destination' && this.#o.destination) {
      const destination = this.#o.destination;
      const result: PathResult = { done: [], back: [] };
      await Promise.all(
        records.map(async (record) => {
          const d = reasons.get(record);
          const body = failureRecord({
            record,
            reason: d?.reason ?? 'RetriesExhausted',
            detail: d?.detail,
            functionArn: this.#o.functionArn,
            eventSourceArn: this.#o.identity.eventSourceArn,
            queue: this.#o.identity.queue,
            virtualHost: this.#o.identity.virtualHost,
            nowMs: this.#o.now(),
            payload: JSON.parse(buildRmqEvent([record], this.#o.identity).toString('utf8')),
          });
          try {
            await destination.send({ body: JSON.stringify(body), id: record.id });
            result.done.push(record);
          } catch (err) {
            this.#o.logger.error(
              { err: (err as Error).message, messageId: record.id },
              'onFailure destination refused a dead-lettered message; it goes back to the queue',
            );
            result.back.push(record);
          }
        }),
      );
      return result;
    }
    const parking = parkingQueueName(this.#o.identity.queue);
    return this.#publishEach(records, async (channel, record) => {
      await this.#declareParking(channel, parking);
      const d = reasons.get(record);
      const handle = rmqHandleOf(record);
      const headers = {
        ...handle.delivery.properties.headers,
        'x-sluice-dead-letter-reason': d?.reason ?? 'RetriesExhausted',
        'x-sluice-dead-letter-detail': d?.detail ?? '',
        'x-sluice-source-queue': this.#o.identity.queue,
      };
      await confirmPublish(channel, '', parking, handle.delivery, headers, this.#o.username);
    });
  }

  async #publishEach(
    records: readonly SourceRecord[],
    publish: (channel: ConfirmChannel, record: SourceRecord) => Promise<void>,
  ): Promise<PathResult> {
    const result: PathResult = { done: [], back: [] };
    if (records.length === 0) return result;
    let channel: ConfirmChannel;
    try {
      const pending = this.#o.supervisor.confirmChannel();
      if (!pending) return { done: [], back: [...records] };
      channel = await pending;
    } catch (err) {
      this.#o.logger.warn({ err: (err as Error).message }, 'no confirm channel; requeueing');
      return { done: [], back: [...records] };
    }
    const outcomes = await Promise.allSettled(records.map((r) => publish(channel, r)));
    outcomes.forEach((o, i) => {
      const record = records[i];
      if (!record) return;
      if (o.status === 'fulfilled') result.done.push(record);
      else {
        this.#o.logger.warn(
          { err: String(o.reason), messageId: record.id },
          'republish not confirmed; the message is requeued instead',
        );
        result.back.push(record);
      }
    });
    return result;
  }

  #declareParking(channel: ConfirmChannel, parking: string): Promise<unknown> {
    if (this.#parkingDeclared?.channel !== channel) {
      this.#o.logger.warn(
        { parkingQueue: parking },
        'queue has no known dead-letter exchange and the mapping no onFailure destination: ' +
          'dead-lettered messages go to the parking queue',
      );
      this.#parkingDeclared = {
        channel,
        done: channel.assertQueue(parking, { durable: true }),
      };
    }
    return this.#parkingDeclared.done;
  }
}

function publishOptions(
  delivery: AmqpDelivery,
  headers: Record<string, unknown>,
  username: string,
): Options.Publish {
  const p = delivery.properties;
  const out: Options.Publish = { headers, persistent: p.deliveryMode !== 1 };
  const copy = <K extends keyof Options.Publish>(key: K, value: unknown) => {
    if (value !== undefined && value !== null) out[key] = value as Options.Publish[K];
  };
  copy('contentType', p.contentType);
  copy('contentEncoding', p.contentEncoding);
  copy('priority', p.priority);
  copy('correlationId', p.correlationId);
  copy('replyTo', p.replyTo);
  copy('expiration', p.expiration);
  copy('messageId', p.messageId);
  copy('timestamp', p.timestamp);
  copy('type', p.type);
  copy('appId', p.appId);
  // The broker rejects a user-id that is not the publisher's own.
  if (p.userId === username) copy('userId', p.userId);
  return out;
}

function confirmPublish(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  delivery: AmqpDelivery,
  headers: Record<string, unknown>,
  username: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    try {
      channel.publish(
        exchange,
        routingKey,
        delivery.content,
        publishOptions(delivery, headers, username),
        (err: unknown) =>
          err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(),
      );
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
