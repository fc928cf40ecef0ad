/**
 * Owns the mapping's AMQP connection, its consumer channel and a confirm channel, and keeps them
 * alive: when the connection or the channel dies (broker restart, connection closed from the
 * management UI, a channel error) or the broker cancels the consumer (queue deleted), the session
 * ends and a new one is opened with back-off (p-retry), re-checking the queue and re-subscribing.
 *
 * Every delivery is tagged with its session. Acks and nacks name a session; for a dead session
 * they are dropped, never sent: the broker already returned those messages to the queue when the
 * channel closed and will deliver them again, and sending an old tag on a new channel is the
 * "unknown delivery tag" channel error (peers lesson 11). Tags are settled at most once per session
 * for the same reason.
 */
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import pRetry from 'p-retry';
import type { Logger } from 'pino';
import type { ConnectorHealth } from '../../src/connectors/types.ts';
import { planAcks } from './ack-plan.ts';
import { translateRmqError } from './rmq-errors.ts';
import { keepRawHeaderBytes } from './raw-headers.ts';

export interface ChannelSupervisorOptions {
  /** Opens a new connection the supervisor then owns (and closes). */
  connect: () => Promise<ChannelModel>;
  queue: string;
  virtualHost: string;
  /** Unacked deliveries the broker may push (AMQP caps it at 65 535). */
  prefetch: number;
  onDelivery: (message: ConsumeMessage, session: number) => void;
  /** A session ended (not by `close()`); its buffered deliveries are void. */
  onLost: (session: number, health: ConnectorHealth) => void;
  /** A session opened (first start or recovery). */
  onOpen: (session: number) => void;
  logger: Logger;
  /** Recovery back-off, first delay. Default 200 ms. */
  retryMinMs?: number;
  /** Recovery back-off, longest delay. Default 15 000 ms. */
  retryMaxMs?: number;
}

interface Session {
  id: number;
  connection: ChannelModel;
  channel: Channel;
  confirm: Promise<ConfirmChannel> | undefined;
  /** Delivered, not yet settled, in delivery (tag) order. */
  outstanding: Map<number, ConsumeMessage>;
  ended: boolean;
}

export class ChannelSupervisor {
  readonly #o: ChannelSupervisorOptions;
  readonly #closed = new AbortController();
  #session: Session | undefined;
  #nextId = 1;
  #recovering: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #failure: ConnectorHealth | undefined;

  constructor(options: ChannelSupervisorOptions) {
    this.#o = options;
  }

  /** The live session's id, or undefined while disconnected. */
  get session(): number | undefined {
    return this.#session && !this.#session.ended ? this.#session.id : undefined;
  }

  /** Deliveries not yet settled on the live channel. */
  get outstanding(): number {
    return this.#session?.outstanding.size ?? 0;
  }

  /** Health of the last failed `open()` attempt (for the connector's `health()`). */
  get failure(): ConnectorHealth | undefined {
    return this.#failure;
  }

  /** One attempt to connect, check the queue and subscribe; throws a translated error. */
  async open(): Promise<void> {
    if (this.#closing) return;
    const where = { queue: this.#o.queue, virtualHost: this.#o.virtualHost };
    let connection: ChannelModel | undefined;
    let session: Session | undefined;
    try {
      connection = await this.#o.connect();
      // Header strings that are not UTF-8 keep their bytes (see raw-headers.ts).
      keepRawHeaderBytes(connection);
      connection.on('error', (err: Error) =>
        this.#o.logger.warn({ err: err.message }, 'AMQP connection error'),
      );
      const channel = await connection.createChannel();
      channel.on('error', (err: Error) =>
        this.#o.logger.warn({ err: err.message }, 'AMQP channel error'),
      );
      // Passive: a missing queue is a clear error here, not a silent declare of a new one.
      await channel.checkQueue(this.#o.queue);
      await channel.prefetch(Math.min(65_535, Math.max(1, this.#o.prefetch)), false);
      const s: Session = {
        id: this.#nextId++,
        connection,
        channel,
        confirm: undefined,
        outstanding: new Map(),
        ended: false,
      };
      session = s;
      const lost = (why: string, health?: ConnectorHealth) => this.#lost(s, why, health);
      connection.on('close', () => lost('connection closed'));
      channel.on('close', () => lost('channel closed'));
      // Live before the first delivery can arrive.
      this.#session = s;
      await channel.consume(
        this.#o.queue,
        (message) => {
          if (message === null) {
            const detail = `the broker cancelled the consumer of queue '${this.#o.queue}' (queue deleted?)`;
            lost(detail, { ok: false, reason: 'EVENT_SOURCE_NOT_FOUND', detail });
            return;
          }
          if (s.ended) return;
          s.outstanding.set(message.fields.deliveryTag, message);
          this.#o.onDelivery(message, s.id);
        },
        { noAck: false },
      );
      if (this.#closing) {
        s.ended = true;
        await connection.close().catch(() => undefined);
        return;
      }
      this.#failure = undefined;
      this.#o.onOpen(s.id);
    } catch (error) {
      if (session) session.ended = true;
      await connection?.close().catch(() => undefined);
      const translated = translateRmqError(error, { ...where, operation: 'subscribe' });
      this.#failure = translated.health;
      throw translated.error;
    }
  }

  /** Acks (or nacks) deliveries of `session`; a dead session's tags are dropped (see above). */
  settle(session: number, tags: readonly number[], how: 'ack' | 'requeue' | 'reject'): number {
    const s = this.#session;
    if (!s || s.ended || s.id !== session || tags.length === 0) return 0;
    const plan = planAcks(s.outstanding.keys(), new Set(tags));
    const send = (message: ConsumeMessage, multiple: boolean) => {
      if (how === 'ack') s.channel.ack(message, multiple);
      else s.channel.nack(message, multiple, how === 'requeue');
    };
    let settled = 0;
    try {
      if (plan.upTo !== undefined) {
        const upTo = s.outstanding.get(plan.upTo);
        for (const tag of s.outstanding.keys()) {
          if (tag > plan.upTo) break;
          s.outstanding.delete(tag);
          settled += 1;
        }
        if (upTo) send(upTo, true);
      }
      for (const tag of plan.singles) {
        const message = s.outstanding.get(tag);
        if (!message) continue;
        s.outstanding.delete(tag);
        settled += 1;
        send(message, false);
      }
    } catch (err) {
      // The channel closed under us (amqplib throws on a closed channel): the session is ending,
      // its messages come back from the broker.
      this.#o.logger.debug({ err: (err as Error).message }, 'settle on a closing channel');
    }
    return settled;
  }

  /** True when `session` is the live one. */
  isLive(session: number): boolean {
    return this.#session?.id === session && !this.#session.ended;
  }

  /** The live session's confirm channel (created on first use); undefined while disconnected. */
  confirmChannel(): Promise<ConfirmChannel> | undefined {
    const s = this.#session;
    if (!s || s.ended) return undefined;
    if (!s.confirm) {
      const pending = s.connection.createConfirmChannel().then((ch) => {
        ch.on('error', (err: Error) =>
          this.#o.logger.warn({ err: err.message }, 'AMQP confirm channel error'),
        );
        // A confirm channel closed by the broker (bad publish) is replaced on next use.
        ch.on('close', () => {
          if (s.confirm === pending) s.confirm = undefined;
        });
        return ch;
      });
      pending.catch(() => {
        if (s.confirm === pending) s.confirm = undefined;
      });
      s.confirm = pending;
    }
    return s.confirm;
  }

  /** Messages ready in the queue (passive declare on a short-lived channel). */
  async messagesReady(): Promise<number | undefined> {
    const s = this.#session;
    if (!s || s.ended) return undefined;
    let channel: Channel | undefined;
    try {
      channel = await s.connection.createChannel();
      channel.on('error', () => undefined);
      const { messageCount } = await channel.checkQueue(this.#o.queue);
      return messageCount;
    } catch {
      return undefined;
    } finally {
      await channel?.close().catch(() => undefined);
    }
  }

  /** Closes the connection; unacked deliveries return to the queue. Idempotent, awaitable. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed.abort();
      const s = this.#session;
      if (s) s.ended = true;
      await this.#recovering?.catch(() => undefined);
      // Channel first: its close is ordered after the acks already written on it, whereas a
      // connection close (channel 0) may overtake them in amqplib's frame mux — lost acks would
      // mean needless redeliveries.
      await s?.channel.close().catch(() => undefined);
      await s?.connection.close().catch(() => undefined);
    })();
    return this.#closing;
  }

  #lost(session: Session, why: string, health?: ConnectorHealth): void {
    if (session.ended) return;
    session.ended = true;
    session.outstanding.clear();
    if (this.#closing) return;
    const detail = health?.detail ?? `RabbitMQ ${why}; reconnecting`;
    this.#o.logger.warn({ session: session.id, why }, 'AMQP session lost; reconnecting');
    this.#o.onLost(session.id, health ?? { ok: false, reason: 'EVENT_SOURCE_ERROR', detail });
    // Close whatever is left (a cancelled consumer leaves the connection open).
    void session.connection.close().catch(() => undefined);
    this.#recover();
  }

  #recover(): void {
    if (this.#recovering || this.#closing) return;
    this.#recovering = pRetry(() => this.open(), {
      retries: Number.POSITIVE_INFINITY,
      minTimeout: this.#o.retryMinMs ?? 200,
      maxTimeout: this.#o.retryMaxMs ?? 15_000,
      signal: this.#closed.signal,
      onFailedAttempt: ({ error, attemptNumber, retryDelay }) => {
        this.#o.onLost(
          0,
          this.#failure ?? { ok: false, reason: 'EVENT_SOURCE_ERROR', detail: error.message },
        );
        this.#o.logger.warn(
          { attempt: attemptNumber, retryInMs: retryDelay, err: error.message },
          'RabbitMQ recovery attempt failed',
        );
      },
    })
      .catch(() => undefined)
      .finally(() => {
        this.#recovering = undefined;
        // Lost again while the last attempt was finishing (e.g. consumer cancelled at once).
        if (this.session === undefined && !this.#closing) this.#recover();
      });
  }
}
