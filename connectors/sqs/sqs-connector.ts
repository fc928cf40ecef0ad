/**
 * The SQS connector: long-polled receives, batch deletes, visibility as the retry mechanism and the
 * queue's own redrive policy as the failure path. Two clients: the connection's shared one
 * (`src/connections/connections.ts`, owned by the caller) for deletes, visibility changes and
 * queue attributes, and a receive client of its own (destroyed by `stop()`), so settling never
 * waits for a socket behind long polls and mappings on one connection never starve each other.
 */
import { GetQueueAttributesCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import type {
  Connector,
  ConnectorHealth,
  FetchRequest,
  SettleOutcome,
  SourceRecord,
} from '../../src/connectors/types.ts';
import { SluiceError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { parseQueueUrl, queueArnFromUrl } from './queue-arn.ts';
import { runBatch, type BatchEntry, type BatchOperation, type BatchTarget } from './sqs-batch.ts';
import { isAbortError, translateSqsError } from './sqs-errors.ts';
import { buildSqsEvent, sqsHandleOf, toSourceRecord, type SqsQueueIdentity } from './sqs-event.ts';
import { SqsReceiver } from './sqs-receiver.ts';
import {
  DEFAULT_RECEIVE_TIMEOUT_MARGIN_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  failedRecordVisibilitySeconds,
  heartbeatIntervalMs,
  receiveSize,
  type FailedVisibility,
} from './sqs-visibility.ts';

export interface SqsConnectorOptions {
  /** The mapping's source settings; an `SqsMappingConfig` fits as is. */
  mapping: { name?: string; source: { queueUrl: string; fifo?: boolean } };
  /** The connection's shared client: deletes, visibility changes, attributes. Not destroyed. */
  client: SQSClient;
  /**
   * The connector's own client for ReceiveMessage (a pool no other mapping or settle call uses),
   * destroyed by `stop()`. Default: `client` (tests), which `stop()` leaves alone.
   */
  receiveClient?: SQSClient;
  /** For `awsRegion` and the ARN. Undefined = the client's region, else the queue URL's host. */
  region?: string | undefined;
  logger?: Logger;
  /**
   * Visibility given to failed records, in ms (rounded up to whole seconds), or a function of the
   * delivery's receive count for backoff (`source.retryBackoff`); 0 = visible again at once.
   * Default undefined: failed records are left alone and come back when the queue's visibility
   * timeout expires, as with Lambda. Records never handed to a function (`released`) always go
   * back at once.
   */
  failedVisibilityTimeoutMs?: FailedVisibility;
  /** Overrides the heartbeat cadence derived from the queue's VisibilityTimeout. */
  heartbeatIntervalMs?: number;
  /**
   * Make records fetched but not settled visible again on `stop()` instead of waiting out their
   * visibility timeout. Default true.
   */
  releaseOnStop?: boolean;
  /** Attempts of a batch delete/visibility call that fails retryably. Default 3. */
  settleAttempts?: number;
  /**
   * A long poll with no answer WaitTimeSeconds + this after it was sent is given up and the
   * source reported unreachable (`health()`). Default 10,000.
   */
  receiveTimeoutMarginMs?: number;
  /**
   * Short polls, GetQueueAttributes and the batch delete/visibility calls are given up after
   * this (a hung endpoint then shows instead of holding a batch forever). Default 5,000.
   */
  requestTimeoutMs?: number;
  now?: () => number;
}

/** What `start()` read from the queue. */
export interface SqsQueueInfo {
  queueArn: string;
  visibilityTimeoutSeconds: number;
  fifo: boolean;
  redrivePolicy: { deadLetterTargetArn: string; maxReceiveCount: number } | undefined;
}

export class SqsConnector implements Connector {
  readonly kind = 'sqs';
  readonly #client: SQSClient;
  readonly #receiveClient: SQSClient;
  readonly #receiver: SqsReceiver;
  readonly #requestTimeoutMs: number;
  readonly #queueUrl: string;
  readonly #options: SqsConnectorOptions;
  readonly #logger: Logger;
  readonly #batchTarget: BatchTarget;
  readonly #now: () => number;
  readonly #stopController = new AbortController();
  /** Receipt handle → messageId of records handed out and not settled yet. */
  readonly #inFlight = new Map<string, string>();
  readonly #fetches = new Set<Promise<unknown>>();
  /**
   * Records received for a lane the caller said was busy. Kept reserved (and in order) until the
   * lane is free instead of being released: releasing would count as a receive towards
   * maxReceiveCount, and a FIFO queue keeps serving the oldest group first, so a released group
   * could starve the others. Holding it keeps the group locked and SQS serves other groups.
   */
  readonly #held: { record: SourceRecord; extendedAtMs: number }[] = [];
  #identity: SqsQueueIdentity | undefined;
  #info: SqsQueueInfo | undefined;
  #health: ConnectorHealth = { ok: false, detail: 'not started' };
  #stopping: Promise<void> | undefined;

  constructor(options: SqsConnectorOptions) {
    this.#options = options;
    this.#client = options.client;
    this.#receiveClient = options.receiveClient ?? options.client;
    this.#queueUrl = options.mapping.source.queueUrl;
    this.#now = options.now ?? Date.now;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#receiver = new SqsReceiver({
      client: this.#receiveClient,
      queueUrl: this.#queueUrl,
      receiveTimeoutMarginMs: options.receiveTimeoutMarginMs ?? DEFAULT_RECEIVE_TIMEOUT_MARGIN_MS,
      requestTimeoutMs: this.#requestTimeoutMs,
      now: this.#now,
      release: (receiptHandles) => this.#release(receiptHandles),
    });
    // Fails early on a URL that cannot name a queue.
    const { queueName } = parseQueueUrl(this.#queueUrl);
    // The registry binds `connector`; the queue and mapping names are bound here.
    this.#logger = (options.logger ?? silentLogger()).child({
      queue: queueName,
      ...(options.mapping.name ? { mapping: options.mapping.name } : {}),
    });
    this.#batchTarget = {
      client: this.#client,
      queueUrl: this.#queueUrl,
      logger: this.#logger,
      attempts: options.settleAttempts ?? 3,
      requestTimeoutMs: this.#requestTimeoutMs,
      onError: ({ health }) => {
        if (health) this.#health = health;
      },
    };
  }

  /** The queue's attributes as read by `start()`. */
  get queueInfo(): SqsQueueInfo | undefined {
    return this.#info;
  }

  get heartbeatIntervalMs(): number | undefined {
    if (!this.#info) return undefined;
    return (
      this.#options.heartbeatIntervalMs ?? heartbeatIntervalMs(this.#info.visibilityTimeoutSeconds)
    );
  }

  /** Records handed out by `fetch` and not settled yet (released on `stop()`). */
  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  /** Records received for a busy lane, held until it is free (released on `stop()`). */
  get heldCount(): number {
    return this.#held.length;
  }

  async start(): Promise<void> {
    if (this.#stopping) throw new SluiceError('CONNECTOR', 'SQS connector is stopped');
    const region = await this.#resolveRegion();
    let attributes: Record<string, string>;
    try {
      const out = await this.#client.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.#queueUrl,
          AttributeNames: ['VisibilityTimeout', 'RedrivePolicy', 'FifoQueue', 'QueueArn'],
        }),
        { abortSignal: AbortSignal.any([this.#stopController.signal, this.#requestTimeout()]) },
      );
      attributes = out.Attributes ?? {};
    } catch (error) {
      if (this.#stopping) throw new SluiceError('CONNECTOR', 'SQS connector stopped during start');
      throw this.#failed('GetQueueAttributes', error);
    }
    const configuredFifo = this.#options.mapping.source.fifo;
    const fifo = attributes.FifoQueue === 'true';
    if (configuredFifo !== undefined && configuredFifo !== fifo) {
      this.#logger.warn(
        { configuredFifo, fifo },
        'queue FIFO setting differs from the mapping; using the queue',
      );
    }
    this.#info = {
      queueArn: attributes.QueueArn ?? queueArnFromUrl(this.#queueUrl, region),
      visibilityTimeoutSeconds: Number(attributes.VisibilityTimeout ?? '30'),
      fifo,
      redrivePolicy: parseRedrivePolicy(attributes.RedrivePolicy),
    };
    this.#identity = {
      eventSourceArn: queueArnFromUrl(this.#queueUrl, region),
      awsRegion: region,
      fifo,
    };
    if (this.#info.visibilityTimeoutSeconds === 0) {
      this.#logger.warn('queue VisibilityTimeout is 0: records reappear while their batch runs');
    }
    if (!this.#info.redrivePolicy) {
      this.#logger.info(
        'queue has no redrive policy: failing messages are retried until they expire',
      );
    }
    this.#health = { ok: true };
    this.#logger.info(
      {
        visibilityTimeoutSeconds: this.#info.visibilityTimeoutSeconds,
        heartbeatIntervalMs: this.heartbeatIntervalMs,
        fifo,
        maxReceiveCount: this.#info.redrivePolicy?.maxReceiveCount,
      },
      'SQS source started',
    );
  }

  fetch(request: FetchRequest): Promise<SourceRecord[]> {
    const pending = this.#fetch(request);
    this.#fetches.add(pending);
    const forget = () => this.#fetches.delete(pending);
    pending.then(forget, forget);
    return pending;
  }

  async #fetch(request: FetchRequest): Promise<SourceRecord[]> {
    const identity = this.#identity;
    const size = receiveSize(request.max);
    if (this.#stopping || request.signal.aborted || size === 0) return [];
    if (!identity) throw new SluiceError('CONNECTOR', 'SQS connector fetch before start()');
    const held = this.#takeHeld(size, request.busyLanes);
    if (held.length > 0) return held;
    await this.#extendHeld();
    // The caller's abort (or `stop()`) answers [] at once; the receive itself is given a short
    // grace to finish, releasing what it brings, then cut (see SqsReceiver#giveUp).
    const receive = this.#receiver.receive(size, request.waitMs);
    let messages: Message[] | 'aborted';
    try {
      messages = await untilAborted(
        receive.messages,
        AbortSignal.any([request.signal, this.#stopController.signal]),
      );
    } catch (error) {
      if (this.#stopController.signal.aborted) return [];
      if (error instanceof SluiceError) throw error; // no answer: the receiver's health says so
      if (isAbortError(error)) return [];
      throw this.#failed('ReceiveMessage', error);
    }
    if (messages === 'aborted') {
      receive.giveUp();
      return [];
    }
    this.#health = { ok: true };
    if (messages.length === 0) return [];
    if (request.signal.aborted || this.#stopController.signal.aborted) {
      // The receive finished as the caller gave up: nobody will process these, so hand them back
      // now rather than leave them invisible for a whole visibility timeout.
      await this.#release(messages.flatMap((m) => (m.ReceiptHandle ? [m.ReceiptHandle] : [])));
      return [];
    }
    return this.#accept(messages, identity, request.busyLanes);
  }

  #accept(
    messages: Message[],
    identity: SqsQueueIdentity,
    busyLanes: ReadonlySet<string> | undefined,
  ): SourceRecord[] {
    const now = this.#now();
    const records: SourceRecord[] = [];
    for (const message of messages) {
      let record: SourceRecord;
      try {
        record = toSourceRecord(message, identity, now);
      } catch (error) {
        // Left alone: it reappears after the visibility timeout and the redrive policy applies.
        this.#logger.error({ err: error, messageId: message.MessageId }, 'unusable SQS message');
        continue;
      }
      // '' is the unordered lane: never blocked. SQS FIFO itself holds back a group with
      // messages in flight, so a busy group shows up here only while the caller's view lags.
      if (record.lane !== '' && busyLanes?.has(record.lane)) {
        this.#held.push({ record, extendedAtMs: now });
        continue;
      }
      this.#inFlight.set(sqsHandleOf(record).receiptHandle, record.id);
      records.push(record);
    }
    return records;
  }

  /** Held records of lanes that are free now, oldest first, up to `max`. */
  #takeHeld(max: number, busyLanes: ReadonlySet<string> | undefined): SourceRecord[] {
    const taken: SourceRecord[] = [];
    for (let i = 0; i < this.#held.length && taken.length < max;) {
      const entry = this.#held[i];
      if (entry && !busyLanes?.has(entry.record.lane)) {
        this.#held.splice(i, 1);
        this.#inFlight.set(sqsHandleOf(entry.record).receiptHandle, entry.record.id);
        taken.push(entry.record);
      } else {
        i++;
      }
    }
    return taken;
  }

  /** Heartbeats held records as a running batch would be, so they do not reappear meanwhile. */
  async #extendHeld(): Promise<void> {
    const interval = this.heartbeatIntervalMs;
    const seconds = this.#info?.visibilityTimeoutSeconds;
    if (interval === undefined || !seconds) return;
    const now = this.#now();
    const due = this.#held.filter((entry) => now - entry.extendedAtMs >= interval);
    if (due.length === 0) return;
    for (const entry of due) entry.extendedAtMs = now;
    const entries = due.map((entry) => ({
      receiptHandle: sqsHandleOf(entry.record).receiptHandle,
      visibilitySeconds: seconds,
    }));
    await this.#batch('ChangeMessageVisibilityBatch', entries);
  }

  buildEvent(records: readonly SourceRecord[]): Buffer {
    return buildSqsEvent(records);
  }

  async settle(outcome: SettleOutcome): Promise<void> {
    const work: Promise<void>[] = [];
    if (outcome.succeeded.length > 0) {
      work.push(this.#batch('DeleteMessageBatch', this.#entries(outcome.succeeded)));
    }
    const released = outcome.released ?? [];
    const visibility = [
      ...failedVisibilityEntries(outcome.failed, this.#options.failedVisibilityTimeoutMs),
      ...released.map((record) => ({
        receiptHandle: sqsHandleOf(record).receiptHandle,
        visibilitySeconds: 0,
      })),
    ];
    if (visibility.length > 0) work.push(this.#batch('ChangeMessageVisibilityBatch', visibility));
    if (outcome.dropped.length > 0) work.push(this.#drop(outcome.dropped));
    await Promise.all(work);
    for (const record of [
      ...outcome.succeeded,
      ...outcome.failed,
      ...released,
      ...outcome.dropped.map((d) => d.record),
    ]) {
      this.#inFlight.delete(sqsHandleOf(record).receiptHandle);
    }
  }

  /**
   * SQS's failure path is the queue's redrive policy, so a dropped message is never deleted here:
   * with a policy it is made visible again at once and the broker moves it to the DLQ once it
   * exceeds maxReceiveCount; without one it is left to reappear after its visibility timeout and
   * is retried until the queue's retention period ends — what Lambda does with such a message.
   */
  async #drop(dropped: SettleOutcome['dropped']): Promise<void> {
    const redrive = this.#info?.redrivePolicy;
    for (const { record, reason, detail } of dropped) {
      this.#logger.warn(
        { messageId: record.id, reason, detail, deadLetterTargetArn: redrive?.deadLetterTargetArn },
        redrive
          ? 'dropped SQS message returned to the queue for its redrive policy'
          : 'dropped SQS message left in the queue (no redrive policy): it will come back',
      );
    }
    if (redrive)
      await this.#release(dropped.map(({ record }) => sqsHandleOf(record).receiptHandle));
  }

  async heartbeat(records: readonly SourceRecord[]): Promise<void> {
    const seconds = this.#info?.visibilityTimeoutSeconds;
    if (!seconds) return;
    // Settled records have nothing left to keep reserved.
    const entries = records
      .map((record) => sqsHandleOf(record).receiptHandle)
      .filter((receiptHandle) => this.#inFlight.has(receiptHandle))
      .map((receiptHandle) => ({ receiptHandle, visibilitySeconds: seconds }));
    if (entries.length > 0) await this.#batch('ChangeMessageVisibilityBatch', entries);
  }

  async backlog(): Promise<number | undefined> {
    try {
      const out = await this.#client.send(
        new GetQueueAttributesCommand({
          QueueUrl: this.#queueUrl,
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
        { abortSignal: this.#requestTimeout() },
      );
      const value = Number(out.Attributes?.ApproximateNumberOfMessages);
      return Number.isFinite(value) ? value : undefined;
    } catch (error) {
      this.#logger.debug({ err: this.#failed('GetQueueAttributes', error) }, 'backlog unavailable');
      return undefined;
    }
  }

  /** Not ok while the source fails or does not answer its receives (see SqsReceiver#health). */
  health(): ConnectorHealth {
    if (!this.#health.ok) return { ...this.#health };
    return this.#receiver.health() ?? { ...this.#health };
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopController.abort();
    await Promise.allSettled([...this.#fetches]);
    await this.#receiver.drain();
    if (this.#receiveClient !== this.#client) this.#receiveClient.destroy();
    const handles = [
      ...this.#inFlight.keys(),
      ...this.#held.map((entry) => sqsHandleOf(entry.record).receiptHandle),
    ];
    this.#inFlight.clear();
    this.#held.length = 0;
    if (handles.length > 0 && (this.#options.releaseOnStop ?? true)) {
      this.#logger.info({ records: handles.length }, 'releasing unsettled SQS messages on stop');
      await this.#release(handles);
    }
  }

  #entries(records: readonly SourceRecord[]): BatchEntry[] {
    return records.map((record) => ({ receiptHandle: sqsHandleOf(record).receiptHandle }));
  }

  #release(receiptHandles: string[]): Promise<void> {
    const entries = receiptHandles.map((receiptHandle) => ({
      receiptHandle,
      visibilitySeconds: 0,
    }));
    return this.#batch('ChangeMessageVisibilityBatch', entries);
  }

  #batch(operation: BatchOperation, entries: BatchEntry[]): Promise<void> {
    return runBatch(this.#batchTarget, operation, entries);
  }

  #requestTimeout(): AbortSignal {
    return AbortSignal.timeout(this.#requestTimeoutMs);
  }

  #failed(operation: string, error: unknown): SluiceError {
    const translated = translateSqsError(error, operation, this.#queueUrl);
    if (translated.health) this.#health = translated.health;
    return translated.error;
  }

  async #resolveRegion(): Promise<string> {
    if (this.#options.region) return this.#options.region;
    try {
      const region = await this.#client.config.region();
      if (region) return region;
    } catch {
      // No region configured on the client: the queue URL may name one.
    }
    const { hostRegion } = parseQueueUrl(this.#queueUrl);
    if (hostRegion) return hostRegion;
    throw new SluiceError('CONNECTOR', `no AWS region known for SQS queue ${this.#queueUrl}`, {
      context: { queueUrl: this.#queueUrl },
    });
  }
}

/**
 * ChangeMessageVisibility entries for failed records: none by default (they come back when the
 * queue's visibility timeout expires, as with Lambda), the configured backoff otherwise.
 */
export function failedVisibilityEntries(
  failed: readonly SourceRecord[],
  backoff: FailedVisibility | undefined,
): BatchEntry[] {
  return failed.flatMap((record) => {
    const handle = sqsHandleOf(record);
    const visibilitySeconds = failedRecordVisibilitySeconds(backoff, handle.receiveCount);
    return visibilitySeconds === undefined
      ? []
      : [{ receiptHandle: handle.receiptHandle, visibilitySeconds }];
  });
}

/** RedrivePolicy is a JSON string; maxReceiveCount may come as a number or a string. */
export function parseRedrivePolicy(text: string | undefined): SqsQueueInfo['redrivePolicy'] {
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
    const maxReceiveCount = Number(parsed.maxReceiveCount);
    if (typeof parsed.deadLetterTargetArn !== 'string' || !Number.isFinite(maxReceiveCount)) {
      return undefined;
    }
    return { deadLetterTargetArn: parsed.deadLetterTargetArn, maxReceiveCount };
  } catch {
    return undefined;
  }
}

/** Resolves with the promise's value, or 'aborted' as soon as `signal` aborts (the promise runs on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | 'aborted'> {
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise<T | 'aborted'>((resolve, reject) => {
    const onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
