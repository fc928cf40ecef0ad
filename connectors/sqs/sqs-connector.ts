/**
 * The SQS connector: long-polled receives, batch deletes, visibility as the retry mechanism and the
 * queue's own redrive policy as the failure path. The SQSClient is shared per connection and owned
 * by the caller (`src/destinations/connections.ts`); this class never creates or destroys one.
 */
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
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
import {
  failedVisibilitySeconds,
  heartbeatIntervalMs,
  receiveSize,
  waitTimeSeconds,
  type FailedVisibility,
} from './sqs-visibility.ts';

export interface SqsConnectorOptions {
  /** The mapping's source settings; an `SqsMappingConfig` fits as is. */
  mapping: { name?: string; source: { queueUrl: string; fifo?: boolean } };
  /** The connection's shared client. Not destroyed by `stop()`. */
  client: SQSClient;
  /** For `awsRegion` and the ARN. Undefined = the client's region, else the queue URL's host. */
  region?: string | undefined;
  logger?: Logger;
  /**
   * Visibility given to failed records, in ms (rounded up to whole seconds), or a function of the
   * delivery's receive count for backoff. Default 0: visible again at once, like a Lambda retry.
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
  now?: () => number;
}

/** What `start()` read from the queue. */
export interface SqsQueueInfo {
  queueArn: string;
  visibilityTimeoutSeconds: number;
  fifo: boolean;
  redrivePolicy: { deadLetterTargetArn: string; maxReceiveCount: number } | undefined;
}

/**
 * How long `stop()` lets receives it no longer waits for finish (and release what they bring)
 * before cutting them: short, so a stop is never held by a 20 s long poll on an idle queue.
 */
const LATE_RECEIVE_GRACE_MS = 1000;

export class SqsConnector implements Connector {
  readonly kind = 'sqs';
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #options: SqsConnectorOptions;
  readonly #logger: Logger;
  readonly #batchTarget: BatchTarget;
  readonly #now: () => number;
  readonly #stopController = new AbortController();
  /** Receipt handle → messageId of records handed out and not settled yet. */
  readonly #inFlight = new Map<string, string>();
  readonly #fetches = new Set<Promise<unknown>>();
  /** Receives whose caller gave up (or the connector stopped), releasing what they bring. */
  readonly #late = new Set<Promise<unknown>>();
  /** Cuts the late receives `LATE_RECEIVE_GRACE_MS` after `stop()`. */
  readonly #lateAbort = new AbortController();
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
    this.#queueUrl = options.mapping.source.queueUrl;
    this.#now = options.now ?? Date.now;
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
        { abortSignal: this.#stopController.signal },
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
    // Neither the caller's abort nor `stop()` cancels the HTTP receive at once: a long poll cut
    // off client-side keeps running at the broker (ElasticMQ, and SQS alike), which then hands
    // messages to a closed connection and hides them for a whole visibility timeout — a disabled,
    // updated or deleted mapping would seem to swallow them. So the caller gets [] at once and the
    // receive finishes in the background, releasing whatever it got; `stop()` cuts the ones
    // still open after a short grace (a poll returns at the first message, so while traffic
    // flows they all come back within it).
    const receive = this.#receive(size, request.waitMs);
    let messages: Message[] | 'aborted';
    try {
      messages = await untilAborted(
        receive,
        AbortSignal.any([request.signal, this.#stopController.signal]),
      );
    } catch (error) {
      if (this.#stopController.signal.aborted || isAbortError(error)) return [];
      throw this.#failed('ReceiveMessage', error);
    }
    if (messages === 'aborted') {
      this.#releaseLate(receive);
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

  async #receive(size: number, waitMs: number): Promise<Message[]> {
    const out = await this.#client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.#queueUrl,
        MaxNumberOfMessages: size,
        WaitTimeSeconds: waitTimeSeconds(waitMs),
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: this.#lateAbort.signal },
    );
    return out.Messages ?? [];
  }

  /** A receive its caller gave up on: make what it brings visible again (see `#fetch`). */
  #releaseLate(receive: Promise<Message[]>): void {
    const late = receive.then(
      (messages) =>
        this.#release(messages.flatMap((m) => (m.ReceiptHandle ? [m.ReceiptHandle] : []))),
      () => undefined,
    );
    this.#late.add(late);
    void late.finally(() => this.#late.delete(late));
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
    const failed = outcome.failed.map((record) => {
      const handle = sqsHandleOf(record);
      const backoff = this.#options.failedVisibilityTimeoutMs ?? 0;
      const visibilitySeconds = failedVisibilitySeconds(backoff, handle.receiveCount);
      return { receiptHandle: handle.receiptHandle, visibilitySeconds };
    });
    if (failed.length > 0) work.push(this.#batch('ChangeMessageVisibilityBatch', failed));
    if (outcome.dropped.length > 0) work.push(this.#drop(outcome.dropped));
    await Promise.all(work);
    for (const record of [
      ...outcome.succeeded,
      ...outcome.failed,
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
      );
      const value = Number(out.Attributes?.ApproximateNumberOfMessages);
      return Number.isFinite(value) ? value : undefined;
    } catch (error) {
      this.#logger.debug({ err: this.#failed('GetQueueAttributes', error) }, 'backlog unavailable');
      return undefined;
    }
  }

  health(): ConnectorHealth {
    return { ...this.#health };
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#stopController.abort();
    await Promise.allSettled([...this.#fetches]);
    if (this.#late.size > 0) {
      const grace = new Promise((resolve) => setTimeout(resolve, LATE_RECEIVE_GRACE_MS).unref());
      await Promise.race([Promise.allSettled([...this.#late]), grace]);
      this.#lateAbort.abort();
    }
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
