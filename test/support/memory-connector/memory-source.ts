/**
 * An in-memory queue with SQS's semantics, for unit tests of the engine: visibility timeouts on an
 * injectable clock, receive counts, ordered lanes (FIFO message groups), redrive after
 * `maxReceiveCount`, and a dead-letter list for dropped records. Any number of `MemoryConnector`s
 * can consume one source, so a test can abandon one (a crash) and open another.
 */

export interface MemorySourceOptions {
  /** How long a received message stays invisible, in ms. Default 30 000. */
  visibilityTimeoutMs?: number;
  /**
   * Time source. Default `Date.now` (vitest fake timers move it). With any other clock, call
   * `notify()` after moving it so waiting fetches look again.
   */
  now?: () => number;
  /** Messages received this many times go to `deadLetters` on the next receive. Default: never. */
  maxReceiveCount?: number;
  /**
   * A lane ('' excepted) with a message in flight delivers nothing else until it is settled or
   * visible again, like an SQS FIFO message group. Default true.
   */
  orderedLanes?: boolean;
}

export interface MemoryMessageInput {
  body: string;
  /** Ordering lane; '' (default) = unordered. */
  lane?: string;
  /** Default `m-<sequence>`. */
  id?: string;
  /** Extra string attributes shown in the event record. */
  attributes?: Record<string, string>;
  /** Default `now()`. */
  sentAtMs?: number;
}

/** A message as the source holds it (snapshot). */
export interface MemoryMessage {
  readonly id: string;
  readonly lane: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly sentAtMs: number;
  readonly sequence: number;
  receiveCount: number;
  /** Invisible until then (ms on the source's clock); 0 = never received or released. */
  visibleAtMs: number;
  /** The current delivery, if the message has been received. */
  delivery: { receipt: number; consumer: number } | undefined;
}

export interface DeadLetter {
  id: string;
  lane: string;
  body: string;
  receiveCount: number;
  /** A `DropReason`, or `maxReceiveCount` for a redrive. */
  reason: string;
  detail?: string;
}

export interface MemorySourceCounters {
  /** Deliveries handed to connectors (a redelivery counts again). */
  received: number;
  deleted: number;
  /** Failed records made visible again. */
  returned: number;
  /** Dropped records moved to `deadLetters`. */
  dropped: number;
  /** Messages moved to `deadLetters` for exceeding `maxReceiveCount`. */
  redriven: number;
  /** Unsettled records made visible by a connector's stop or a busy-lane skip. */
  released: number;
  /** Visibility extensions applied. */
  heartbeats: number;
  /** Settles/heartbeats naming a delivery that is no longer current (already settled, expired). */
  stale: number;
}

/** The part of a delivery a connector keeps in `SourceRecord.handle`. */
export interface MemoryHandle {
  messageId: string;
  receipt: number;
  consumer: number;
}

export type MemoryOperation = 'start' | 'fetch' | 'settle' | 'heartbeat';

export class MemorySource {
  readonly visibilityTimeoutMs: number;
  readonly counters: MemorySourceCounters = {
    received: 0,
    deleted: 0,
    returned: 0,
    dropped: 0,
    redriven: 0,
    released: 0,
    heartbeats: 0,
    stale: 0,
  };
  readonly deadLetters: DeadLetter[] = [];
  readonly now: () => number;
  readonly #maxReceiveCount: number;
  readonly #orderedLanes: boolean;
  /** Insertion order = delivery order; a failed message keeps its place in its lane. */
  readonly #messages = new Map<string, MemoryMessage>();
  readonly #waiters = new Set<() => void>();
  readonly #faults = new Map<MemoryOperation, Error[]>();
  #sequence = 0;
  #receipt = 0;
  #consumer = 0;

  constructor(options: MemorySourceOptions = {}) {
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
    this.now = options.now ?? (() => Date.now());
    this.#maxReceiveCount = options.maxReceiveCount ?? Infinity;
    this.#orderedLanes = options.orderedLanes ?? true;
  }

  /** Adds messages (strings are bodies); returns their ids in order. */
  push(
    inputs: readonly (string | MemoryMessageInput)[],
    defaults: { lane?: string } = {},
  ): string[] {
    const ids = inputs.map((input) => {
      const message = typeof input === 'string' ? { body: input } : input;
      const sequence = ++this.#sequence;
      const id = message.id ?? `m-${sequence}`;
      this.#messages.set(id, {
        id,
        lane: message.lane ?? defaults.lane ?? '',
        body: message.body,
        attributes: { ...message.attributes },
        sentAtMs: message.sentAtMs ?? this.now(),
        sequence,
        receiveCount: 0,
        visibleAtMs: 0,
        delivery: undefined,
      });
      return id;
    });
    this.notify();
    return ids;
  }

  /** Messages still in the source (visible or in flight), in delivery order. */
  get messages(): MemoryMessage[] {
    return [...this.#messages.values()].map((message) => ({ ...message }));
  }

  /** Received messages whose visibility has not run out. */
  get inFlight(): MemoryMessage[] {
    const now = this.now();
    return this.messages.filter((message) => message.visibleAtMs > now);
  }

  /** Messages a receive could return now (ignoring lane blocking). */
  get visibleCount(): number {
    const now = this.now();
    let count = 0;
    for (const message of this.#messages.values()) if (message.visibleAtMs <= now) count++;
    return count;
  }

  get size(): number {
    return this.#messages.size;
  }

  has(id: string): boolean {
    return this.#messages.has(id);
  }

  /** Makes the next call of `operation` (by any connector) throw `error`. Queued in order. */
  failNext(
    operation: MemoryOperation,
    error: Error = new Error(`injected ${operation} failure`),
  ): void {
    const queue = this.#faults.get(operation) ?? [];
    queue.push(error);
    this.#faults.set(operation, queue);
  }

  /** Wakes waiting fetches, e.g. after moving an injected clock. */
  notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  // ---- connector side ----

  /** @internal */
  takeFault(operation: MemoryOperation): Error | undefined {
    return this.#faults.get(operation)?.shift();
  }

  /** @internal A new consumer id (one per connector), so a stop releases only its deliveries. */
  registerConsumer(): number {
    return ++this.#consumer;
  }

  /** @internal Resolves on the next change (push, release, notify). */
  onChange(wake: () => void): () => void {
    this.#waiters.add(wake);
    return () => this.#waiters.delete(wake);
  }

  /** @internal When the earliest in-flight message becomes visible again, if any. */
  nextVisibleAtMs(): number | undefined {
    let next: number | undefined;
    const now = this.now();
    for (const { visibleAtMs } of this.#messages.values()) {
      if (visibleAtMs > now && (next === undefined || visibleAtMs < next)) next = visibleAtMs;
    }
    return next;
  }

  /** @internal Receives up to `max` messages, skipping busy lanes; applies redrive. */
  receive(consumer: number, max: number, busyLanes?: ReadonlySet<string>): MemoryMessage[] {
    const now = this.now();
    const blocked = new Set<string>();
    if (this.#orderedLanes) {
      for (const message of this.#messages.values()) {
        if (message.lane !== '' && message.visibleAtMs > now) blocked.add(message.lane);
      }
    }
    const out: MemoryMessage[] = [];
    for (const message of [...this.#messages.values()]) {
      if (out.length >= max) break;
      if (message.visibleAtMs > now) continue;
      if (message.lane !== '' && (blocked.has(message.lane) || busyLanes?.has(message.lane))) {
        continue;
      }
      if (message.receiveCount >= this.#maxReceiveCount) {
        this.#deadLetter(message, 'maxReceiveCount');
        this.counters.redriven++;
        continue;
      }
      message.receiveCount++;
      message.visibleAtMs = now + this.visibilityTimeoutMs;
      message.delivery = { receipt: ++this.#receipt, consumer };
      this.counters.received++;
      out.push({ ...message });
    }
    return out;
  }

  /** @internal */
  delete(handle: MemoryHandle): void {
    const message = this.#current(handle);
    if (!message) return;
    this.#messages.delete(message.id);
    this.counters.deleted++;
  }

  /** @internal Makes a delivery visible after `delayMs` (0 = now). */
  returnToQueue(handle: MemoryHandle, delayMs: number, kind: 'returned' | 'released'): void {
    const message = this.#current(handle);
    if (!message) return;
    message.visibleAtMs = delayMs > 0 ? this.now() + delayMs : 0;
    message.delivery = undefined;
    this.counters[kind]++;
    this.notify();
  }

  /** @internal */
  drop(handle: MemoryHandle, reason: string, detail?: string): void {
    const message = this.#current(handle);
    if (!message) return;
    this.#deadLetter(message, reason, detail);
    this.counters.dropped++;
    this.notify();
  }

  /** @internal Extends a delivery's visibility to `now + visibilityTimeoutMs`. */
  extend(handle: MemoryHandle): void {
    const message = this.#current(handle);
    if (!message) return;
    message.visibleAtMs = this.now() + this.visibilityTimeoutMs;
    this.counters.heartbeats++;
  }

  /** @internal Deliveries of `consumer` still current. */
  deliveriesOf(consumer: number): MemoryHandle[] {
    const out: MemoryHandle[] = [];
    for (const message of this.#messages.values()) {
      if (message.delivery?.consumer === consumer && message.visibleAtMs > this.now()) {
        out.push({ messageId: message.id, ...message.delivery });
      }
    }
    return out;
  }

  /**
   * The message if `handle` is its current delivery. Like SQS, a receipt from an earlier delivery
   * (the message came back and was received again) no longer settles it; an expired one that
   * nobody received again still does.
   */
  #current(handle: MemoryHandle): MemoryMessage | undefined {
    const message = this.#messages.get(handle.messageId);
    if (message?.delivery?.receipt === handle.receipt) return message;
    this.counters.stale++;
    return undefined;
  }

  #deadLetter(message: MemoryMessage, reason: string, detail?: string): void {
    this.#messages.delete(message.id);
    this.deadLetters.push({
      id: message.id,
      lane: message.lane,
      body: message.body,
      receiveCount: message.receiveCount,
      reason,
      ...(detail !== undefined ? { detail } : {}),
    });
  }
}

/** A clock tests move by hand: `new MemorySource({ now: clock.now })`, then `clock.advance(ms)`. */
export class ManualClock {
  #ms: number;
  constructor(startMs = 1_700_000_000_000) {
    this.#ms = startMs;
  }
  readonly now = (): number => this.#ms;
  advance(ms: number): void {
    this.#ms += ms;
  }
}
