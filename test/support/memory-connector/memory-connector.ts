/**
 * A `Connector` over a `MemorySource`, with the SQS connector's settle semantics: succeeded →
 * deleted, failed → visible again (after an optional backoff), dropped → the source's dead-letter
 * list with the reason, never silently gone. For unit tests of the engine; passes the connector
 * conformance suite.
 */
import type {
  Connector,
  ConnectorHealth,
  FetchRequest,
  SettleOutcome,
  SourceRecord,
} from '../../../src/connectors/types.ts';
import { SluiceError } from '../../../src/errors.ts';
import type { MemoryHandle, MemoryMessage, MemorySource } from './memory-source.ts';

export interface MemoryConnectorOptions {
  /** Shared by every connector that consumes it (several consumers, or one after a "crash"). */
  source: MemorySource;
  /** Visibility of failed records, in ms. Default 0 (visible at once). */
  failedVisibilityTimeoutMs?: number;
  /** Default a third of the source's visibility timeout. */
  heartbeatIntervalMs?: number;
  /** Make unsettled records visible on `stop()`. Default true (as the SQS connector). */
  releaseOnStop?: boolean;
  /** Reported as `maxLanes` once started (a partitioned source, like Kafka). Default none. */
  maxLanes?: number;
  /** Reported as `collectsOneAtATime` (a shared push buffer, like RabbitMQ). Default false. */
  collectsOneAtATime?: boolean;
}

/** The record each message becomes in the event (`{"Records":[…]}`), SQS-like. */
export interface MemoryEventRecord {
  messageId: string;
  body: string;
  lane: string;
  attributes: Record<string, string>;
  eventSource: 'sluice:memory';
}

export class MemoryConnector implements Connector {
  readonly kind = 'memory';
  readonly source: MemorySource;
  readonly heartbeatIntervalMs: number;
  /** Calls per method, for assertions on what the engine did. */
  readonly calls = { fetch: 0, settle: 0, heartbeat: 0, buildEvent: 0 };
  readonly #options: MemoryConnectorOptions;
  readonly #consumer: number;
  readonly #stopController = new AbortController();
  readonly #fetches = new Set<Promise<unknown>>();
  #started = false;
  #stopping: Promise<void> | undefined;
  #health: ConnectorHealth = { ok: false, detail: 'not started' };

  constructor(options: MemoryConnectorOptions) {
    this.#options = options;
    this.source = options.source;
    this.#consumer = options.source.registerConsumer();
    this.heartbeatIntervalMs =
      options.heartbeatIntervalMs ??
      Math.max(1, Math.floor(options.source.visibilityTimeoutMs / 3));
  }

  get collectsOneAtATime(): boolean {
    return this.#options.collectsOneAtATime ?? false;
  }

  get maxLanes(): number | undefined {
    return this.#started ? this.#options.maxLanes : undefined;
  }

  get stopped(): boolean {
    return this.#stopping !== undefined;
  }

  /** Records this connector handed out that are neither settled nor expired. */
  get inFlightCount(): number {
    return this.source.deliveriesOf(this.#consumer).length;
  }

  async start(): Promise<void> {
    const fault = this.source.takeFault('start');
    if (fault) {
      this.#health = { ok: false, reason: 'EVENT_SOURCE_ERROR', detail: fault.message };
      throw new SluiceError('CONNECTOR', fault.message, { cause: fault, canRetry: true });
    }
    this.#started = true;
    this.#health = { ok: true };
  }

  /** Replaces what `health()` reports (to test how the engine shows a sick source). */
  setHealth(health: ConnectorHealth): void {
    this.#health = health;
  }

  fetch(request: FetchRequest): Promise<SourceRecord[]> {
    this.calls.fetch++;
    const pending = this.#fetch(request);
    this.#fetches.add(pending);
    const forget = () => this.#fetches.delete(pending);
    pending.then(forget, forget);
    return pending;
  }

  async #fetch({ max, waitMs, signal, busyLanes }: FetchRequest): Promise<SourceRecord[]> {
    if (this.#stopping || signal.aborted || max < 1) return [];
    if (!this.#started) throw new SluiceError('CONNECTOR', 'memory connector fetch before start()');
    const fault = this.source.takeFault('fetch');
    if (fault) throw new SluiceError('CONNECTOR', fault.message, { cause: fault, canRetry: true });
    const deadline = Date.now() + Math.max(0, waitMs);
    for (;;) {
      const messages = this.source.receive(this.#consumer, Math.floor(max), busyLanes);
      if (messages.length > 0) return messages.map((message) => this.#toRecord(message));
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) return [];
      const woken = await this.#waitForChange(remainingMs, signal);
      if (!woken) return [];
    }
  }

  /** Resolves true on a source change or a visibility expiry, false on abort, stop or timeout. */
  #waitForChange(timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const nextVisible = this.source.nextVisibleAtMs();
      const expiryMs = nextVisible === undefined ? Infinity : nextVisible - this.source.now();
      const timers: ReturnType<typeof setTimeout>[] = [];
      const finish = (woken: boolean) => {
        for (const timer of timers) clearTimeout(timer);
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
        this.#stopController.signal.removeEventListener('abort', onAbort);
        resolve(woken);
      };
      const onAbort = () => finish(false);
      const unsubscribe = this.source.onChange(() => finish(true));
      signal.addEventListener('abort', onAbort, { once: true });
      this.#stopController.signal.addEventListener('abort', onAbort, { once: true });
      timers.push(setTimeout(() => finish(false), timeoutMs));
      if (expiryMs < timeoutMs) timers.push(setTimeout(() => finish(true), Math.max(0, expiryMs)));
      if (signal.aborted || this.#stopController.signal.aborted) finish(false);
    });
  }

  #toRecord(message: MemoryMessage): SourceRecord {
    const event: MemoryEventRecord = {
      messageId: message.id,
      body: message.body,
      lane: message.lane,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAtMs),
        ...message.attributes,
      },
      eventSource: 'sluice:memory',
    };
    if (!message.delivery) throw new Error('memory source returned an undelivered message');
    const handle: MemoryHandle = { messageId: message.id, ...message.delivery };
    return {
      id: message.id,
      lane: message.lane,
      event: event as unknown as Record<string, unknown>,
      sizeBytes: Buffer.byteLength(JSON.stringify(event)),
      timestampMs: message.sentAtMs,
      handle,
    };
  }

  buildEvent(records: readonly SourceRecord[]): Buffer {
    this.calls.buildEvent++;
    return Buffer.from(JSON.stringify({ Records: records.map((record) => record.event) }));
  }

  async settle(outcome: SettleOutcome): Promise<void> {
    this.calls.settle++;
    const fault = this.source.takeFault('settle');
    if (fault) throw new SluiceError('CONNECTOR', fault.message, { cause: fault, canRetry: true });
    for (const record of outcome.succeeded) this.source.delete(handleOf(record));
    const delayMs = this.#options.failedVisibilityTimeoutMs ?? 0;
    for (const record of outcome.failed) {
      this.source.returnToQueue(handleOf(record), delayMs, 'returned');
    }
    for (const record of outcome.released ?? []) {
      this.source.returnToQueue(handleOf(record), 0, 'returned');
    }
    for (const { record, reason, detail } of outcome.dropped) {
      this.source.drop(handleOf(record), reason, detail);
    }
  }

  async heartbeat(records: readonly SourceRecord[]): Promise<void> {
    this.calls.heartbeat++;
    const fault = this.source.takeFault('heartbeat');
    if (fault) throw new SluiceError('CONNECTOR', fault.message, { cause: fault, canRetry: true });
    for (const record of records) this.source.extend(handleOf(record));
  }

  async backlog(): Promise<number> {
    return this.source.visibleCount;
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
    if (this.#options.releaseOnStop ?? true) {
      for (const handle of this.source.deliveriesOf(this.#consumer)) {
        this.source.returnToQueue(handle, 0, 'released');
      }
    }
  }
}

function handleOf(record: SourceRecord): MemoryHandle {
  const handle = record.handle as Partial<MemoryHandle> | undefined;
  if (typeof handle?.messageId !== 'string' || typeof handle.receipt !== 'number') {
    throw new SluiceError('CONNECTOR', `record ${record.id} was not received from a memory source`);
  }
  return handle as MemoryHandle;
}
