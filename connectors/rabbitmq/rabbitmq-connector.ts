/**
 * The RabbitMQ connector: one consumer per mapping with manual acks, deliveries pushed into a
 * buffer that `fetch` drains. The buffer is bounded by the prefetch (batchSize × maximumConcurrency
 * by default): the broker never pushes more unacked messages than that, so memory stays bounded
 * however deep the queue is.
 *
 * - Ordering: with maximumConcurrency 1 (the default, and AWS's only mode) records carry the queue
 *   as their lane, so one batch is in flight and queue order is kept; above 1, batches run in
 *   parallel and order across batches is not kept.
 * - Settling: succeeded → ack (one `multiple` frame for a contiguous run); failed → requeue or a
 *   counted republish (see `redelivery-policy.ts`); dropped → DLX, onFailure destination or parking
 *   queue. Settle never throws: an ack that cannot be sent means a redelivery, not a loss.
 * - Connection: its own AMQP connection per mapping (the mapping's virtual host; a consumer on its
 *   own connection keeps draining while the broker blocks publishers), named `sluice:<mapping>` in
 *   the management UI, supervised by `ChannelSupervisor`.
 */
import { connect, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type {
  Connector,
  ConnectorHealth,
  FetchRequest,
  SettleOutcome,
  SourceRecord,
} from '../../src/connectors/types.ts';
import type { Destination } from '../../src/destinations/destination.ts';
import { SluiceError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { ChannelSupervisor } from './channel-supervisor.ts';
import { FailurePath } from './failure-path.ts';
import {
  defaultManagementUrl,
  fetchQueueInfo,
  UNKNOWN_QUEUE_INFO,
  type QueueInfo,
} from './queue-info.ts';
import { deadLetterRoute, decideFailures, retryMethod } from './redelivery-policy.ts';
import {
  buildRmqEvent,
  QUORUM_DELIVERY_COUNT,
  rmqHandleOf,
  toSourceRecord,
  type RmqQueueIdentity,
} from './rmq-event.ts';

export interface RabbitMqConnectorOptions {
  mapping: {
    name?: string;
    source: { queue: string; /** Default `/`. */ virtualHost?: string };
    batchSize: number;
    /** Default 1 (ordered). */
    maximumConcurrency?: number | undefined;
    /** Retries before dead-lettering; `Infinity` (default) = Lambda's retry-until-expiry. */
    maximumRetryAttempts?: number;
  };
  /** AMQP URL of the connection. Its path is replaced by the mapping's virtual host. Secret. */
  url: string;
  /** The ARN in events (`arn:aws:mq:…`). */
  eventSourceArn: string;
  /** For failure records sent to the destination. */
  functionArn?: string;
  /** The mapping's onFailure destination. */
  onFailure?: Destination | undefined;
  /**
   * Management API base URL (with credentials) for the queue's type and dead-letter exchange;
   * default: the AMQP host at port + 10 000 with the same credentials; `false` = do not ask.
   */
  managementUrl?: string | false;
  /** Unacked deliveries the broker may push. Default batchSize × maximumConcurrency (≤ 65 535). */
  prefetch?: number;
  /** Opens a connection (test seam). Default amqplib `connect`. */
  connect?: (url: string, connectionName: string) => Promise<ChannelModel>;
  logger?: Logger;
  /** Reconnect back-off bounds, ms. Defaults 200 / 15 000. */
  retryMinMs?: number;
  retryMaxMs?: number;
  now?: () => number;
}

interface Buffered {
  message: ConsumeMessage;
  session: number;
}

export class RabbitMqConnector implements Connector {
  readonly kind = 'rabbitmq';
  /** Deliveries land in one buffer: batches are gathered one after another (see Connector). */
  readonly collectsOneAtATime = true;
  readonly #o: RabbitMqConnectorOptions;
  readonly #identity: RmqQueueIdentity;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #supervisor: ChannelSupervisor;
  readonly #failurePath: FailurePath;
  readonly #lane: string;
  readonly #maxRetries: number;
  readonly #stopController = new AbortController();
  #buffer: Buffered[] = [];
  #head = 0;
  readonly #waiters = new Set<() => void>();
  #queueInfo: QueueInfo = UNKNOWN_QUEUE_INFO;
  #health: ConnectorHealth = { ok: false, detail: 'not started' };
  #stopping: Promise<void> | undefined;

  constructor(options: RabbitMqConnectorOptions) {
    this.#o = options;
    const { queue, virtualHost = '/' } = options.mapping.source;
    this.#identity = { queue, virtualHost, eventSourceArn: options.eventSourceArn };
    this.#now = options.now ?? Date.now;
    this.#maxRetries = options.mapping.maximumRetryAttempts ?? Number.POSITIVE_INFINITY;
    const concurrency = options.mapping.maximumConcurrency ?? 1;
    this.#lane = concurrency === 1 ? queue : '';
    this.#logger = (options.logger ?? silentLogger()).child({
      connector: 'rabbitmq',
      queue,
      virtualHost,
      ...(options.mapping.name ? { mapping: options.mapping.name } : {}),
    });
    const url = vhostUrl(options.url, virtualHost);
    const name = `sluice:${options.mapping.name ?? queue}`;
    const open = options.connect ?? ((u: string, n: string) => connectNamed(u, n));
    this.#supervisor = new ChannelSupervisor({
      connect: () => open(url, name),
      queue,
      virtualHost,
      prefetch: options.prefetch ?? options.mapping.batchSize * concurrency,
      onDelivery: (message, session) => this.#push(message, session),
      onLost: (session, health) => this.#onLost(session, health),
      onOpen: () => this.#onOpen(),
      logger: this.#logger,
      ...(options.retryMinMs === undefined ? {} : { retryMinMs: options.retryMinMs }),
      ...(options.retryMaxMs === undefined ? {} : { retryMaxMs: options.retryMaxMs }),
    });
    this.#failurePath = new FailurePath({
      supervisor: this.#supervisor,
      identity: this.#identity,
      username: decodeURIComponent(new URL(options.url).username || 'guest'),
      destination: options.onFailure,
      functionArn: options.functionArn ?? '',
      logger: this.#logger,
      now: this.#now,
    });
  }

  /** The mapping's `FailurePolicy`: bounded redelivery (pure decision on the durable count). */
  readonly failurePolicy = (failed: SourceRecord[]) => decideFailures(failed, this.#maxRetries);

  /** Queue type and dead-letter exchange as last read from the management API. */
  get queueInfo(): QueueInfo {
    return this.#queueInfo;
  }

  /** Deliveries buffered for `fetch`. */
  get bufferedCount(): number {
    return this.#buffer.length - this.#head;
  }

  async start(): Promise<void> {
    if (this.#stopping) throw new SluiceError('CONNECTOR', 'RabbitMQ connector is stopped');
    if (this.#supervisor.session !== undefined) return;
    try {
      await this.#supervisor.open();
    } catch (error) {
      this.#health = this.#supervisor.failure ?? {
        ok: false,
        reason: 'EVENT_SOURCE_ERROR',
        detail: (error as Error).message,
      };
      throw error;
    }
    await this.#refreshQueueInfo();
    const concurrency = this.#o.mapping.maximumConcurrency ?? 1;
    this.#logger.info(
      {
        mode: concurrency === 1 ? 'ordered, 1 batch in flight' : `parallel, ${concurrency}`,
        maximumRetryAttempts: this.#maxRetries,
        queueType: this.#queueInfo.type,
        deadLetterExchange: this.#queueInfo.deadLetterExchange,
        onFailure: this.#o.onFailure?.description,
      },
      'RabbitMQ source started',
    );
  }

  async fetch(request: FetchRequest): Promise<SourceRecord[]> {
    if (this.#stopping || request.signal.aborted || request.max <= 0) return [];
    if (this.#lane !== '' && request.busyLanes?.has(this.#lane)) {
      // Ordered and a batch in flight: nothing may be handed out; wait rather than spin.
      const signal = AbortSignal.any([request.signal, this.#stopController.signal]);
      await sleep(request.waitMs, undefined, { signal }).catch(() => undefined);
      return [];
    }
    if (this.bufferedCount === 0) await this.#waitForDelivery(request.waitMs, request.signal);
    if (this.#stopping || request.signal.aborted) return [];
    const now = this.#now();
    const records: SourceRecord[] = [];
    while (records.length < request.max && this.#head < this.#buffer.length) {
      const entry = this.#buffer[this.#head++];
      if (!entry || !this.#supervisor.isLive(entry.session)) continue;
      records.push(
        toSourceRecord(entry.message, { session: entry.session, lane: this.#lane, nowMs: now }),
      );
    }
    this.#compact();
    return records;
  }

  buildEvent(records: readonly SourceRecord[]): Buffer {
    return buildRmqEvent(records, this.#identity);
  }

  async settle(outcome: SettleOutcome): Promise<void> {
    try {
      await this.#settle(outcome);
    } catch (err) {
      // Unsettled deliveries come back from the broker: log, never throw.
      this.#logger.error({ err: (err as Error).message }, 'settling RabbitMQ deliveries failed');
    }
  }

  async #settle(outcome: SettleOutcome): Promise<void> {
    this.#ack(outcome.succeeded, 'ack');
    this.#ack(outcome.released ?? [], 'requeue'); // never invoked: no retry counted
    const requeue: SourceRecord[] = [];
    const republish: SourceRecord[] = [];
    for (const record of outcome.failed) {
      const method = retryMethod({
        maximumRetryAttempts: this.#maxRetries,
        queueType: this.#queueInfo.type,
        hasQuorumCount:
          rmqHandleOf(record).delivery.properties.headers?.[QUORUM_DELIVERY_COUNT] !== undefined,
      });
      (method === 'requeue' ? requeue : republish).push(record);
    }
    this.#ack(requeue, 'requeue');
    const work: Promise<void>[] = [];
    if (republish.length > 0) {
      work.push(
        this.#failurePath.republish(this.#live(republish)).then(({ done, back }) => {
          this.#ack(done, 'ack');
          this.#ack(back, 'requeue');
        }),
      );
    }
    if (outcome.dropped.length > 0) work.push(this.#deadLetter(outcome.dropped));
    await Promise.all(work);
  }

  async #deadLetter(dropped: SettleOutcome['dropped']): Promise<void> {
    for (const { record, reason, detail } of dropped) {
      this.#logger.warn(
        { messageId: record.id, reason, detail },
        'dead-lettering RabbitMQ message',
      );
    }
    const route = deadLetterRoute({
      queueHasDlx: this.#queueInfo.deadLetterExchange !== undefined,
      hasDestination: this.#o.onFailure !== undefined,
    });
    if (route === 'dlx') {
      this.#ack(
        dropped.map((d) => d.record),
        'reject',
      );
      return;
    }
    const live = dropped.filter((d) => this.#supervisor.isLive(rmqHandleOf(d.record).session));
    const { done, back } = await this.#failurePath.deadLetter(live, route);
    this.#ack(done, 'ack');
    this.#ack(back, 'requeue');
  }

  /** Records whose delivery is still on the live channel (the others come back on their own). */
  #live(records: SourceRecord[]): SourceRecord[] {
    return records.filter((r) => this.#supervisor.isLive(rmqHandleOf(r).session));
  }

  #ack(records: readonly SourceRecord[], how: 'ack' | 'requeue' | 'reject'): void {
    if (records.length === 0) return;
    const bySession = new Map<number, number[]>();
    for (const record of records) {
      const { session, deliveryTag } = rmqHandleOf(record);
      const tags = bySession.get(session) ?? [];
      tags.push(deliveryTag);
      bySession.set(session, tags);
    }
    for (const [session, tags] of bySession) this.#supervisor.settle(session, tags, how);
  }

  async backlog(): Promise<number | undefined> {
    return this.#supervisor.messagesReady();
  }

  health(): ConnectorHealth {
    return { ...this.#health };
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopController.abort();
      this.#wake();
      this.#buffer = [];
      this.#head = 0;
      // Closing the connection returns every unacked delivery to the queue.
      await this.#supervisor.close();
      this.#health = { ok: false, detail: 'stopped' };
    })();
    return this.#stopping;
  }

  #push(message: ConsumeMessage, session: number): void {
    if (this.#stopping) return;
    this.#buffer.push({ message, session });
    this.#wake();
  }

  #wake(): void {
    if (this.#waiters.size === 0) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  #waitForDelivery(waitMs: number, signal: AbortSignal): Promise<void> {
    if (waitMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      signal.addEventListener('abort', done, { once: true });
      this.#waiters.add(done);
    });
  }

  #compact(): void {
    if (this.#head === this.#buffer.length) {
      this.#buffer = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
  }

  #onLost(session: number, health: ConnectorHealth): void {
    this.#logger.debug({ session, health }, 'RabbitMQ source unhealthy');
    this.#health = health;
    // Deliveries of the dead channel are back in the queue: drop our copies.
    if (session !== 0) {
      this.#buffer = this.#buffer.slice(this.#head).filter((b) => b.session !== session);
      this.#head = 0;
    }
  }

  #onOpen(): void {
    this.#logger.info({ session: this.#supervisor.session }, 'RabbitMQ consumer subscribed');
    this.#health = { ok: true };
    void this.#refreshQueueInfo();
  }

  async #refreshQueueInfo(): Promise<void> {
    if (this.#o.managementUrl === false) return;
    const base = this.#o.managementUrl ?? defaultManagementUrl(this.#o.url);
    const info = await fetchQueueInfo(base, this.#identity.virtualHost, this.#identity.queue);
    if (info) this.#queueInfo = info;
    else this.#logger.debug('management API not available: queue type and DLX unknown');
  }
}

/** The connection URL with its path set to the virtual host (`/` is `%2F`). */
export function vhostUrl(url: string, virtualHost: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(virtualHost)}`;
  return u.toString();
}

function connectNamed(url: string, connectionName: string): Promise<ChannelModel> {
  return connect(url, { clientProperties: { connection_name: connectionName } });
}
