import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

/** Events an extension may subscribe to. */
export type ExtensionEventType = 'INVOKE' | 'SHUTDOWN';

export type ExtensionEvent =
  | { eventType: 'INVOKE'; deadlineMs: number; requestId: string; invokedFunctionArn: string }
  | {
      eventType: 'SHUTDOWN';
      shutdownReason: 'spindown' | 'timeout' | 'failure';
      deadlineMs: number;
    };

export interface RegisteredExtension {
  id: string;
  name: string;
  events: ReadonlySet<ExtensionEventType>;
  /** True once the extension has called `event/next` at least once (INIT counts it as ready). */
  calledNext: boolean;
}

interface ExtensionSlot extends RegisteredExtension {
  /** The held long poll, answered when an event arrives. */
  waiting?: ServerResponse;
  queue: ExtensionEvent[];
}

/**
 * Extension state of one environment: who registered, who is parked on `event/next`, and which
 * events each one has not yet received. HTTP parsing stays in the server; this class only decides.
 */
export class ExtensionsRegistry {
  private readonly slots = new Map<string, ExtensionSlot>();

  get all(): RegisteredExtension[] {
    return [...this.slots.values()];
  }

  get(id: string | undefined): RegisteredExtension | undefined {
    return id === undefined ? undefined : this.slots.get(id);
  }

  register(name: string, events: ExtensionEventType[]): RegisteredExtension {
    const slot: ExtensionSlot = {
      id: randomUUID(),
      name,
      events: new Set(events),
      calledNext: false,
      queue: [],
    };
    this.slots.set(slot.id, slot);
    return slot;
  }

  /** Parks `res` until an event is available (or answers at once when one is queued). */
  next(id: string, res: ServerResponse): void {
    const slot = this.slots.get(id);
    if (!slot) return;
    slot.calledNext = true;
    if (slot.waiting && !slot.waiting.writableEnded) {
      // A second poll replaces a first one whose connection the extension abandoned.
      slot.waiting.destroy();
    }
    slot.waiting = res;
    res.once('close', () => {
      if (slot.waiting === res) slot.waiting = undefined;
    });
    this.flush(slot);
  }

  /** Queues an event for every extension subscribed to its type; returns how many get it. */
  broadcast(event: ExtensionEvent): number {
    let count = 0;
    for (const slot of this.slots.values()) {
      if (!slot.events.has(event.eventType)) continue;
      slot.queue.push(event);
      count += 1;
      this.flush(slot);
    }
    return count;
  }

  /**
   * True when every extension subscribed to INVOKE has received all its events and is parked on
   * `event/next` again: the condition for an invoke to be complete.
   */
  allParked(): boolean {
    for (const slot of this.slots.values()) {
      if (!slot.calledNext) return false;
      if (!slot.events.has('INVOKE')) continue;
      if (slot.queue.length > 0 || !slot.waiting) return false;
    }
    return true;
  }

  /** Every registered extension has called `event/next` once (the INIT condition). */
  allCalledNext(): boolean {
    for (const slot of this.slots.values()) if (!slot.calledNext) return false;
    return true;
  }

  /** Ends held polls (at close), so no socket keeps the server open. */
  releaseAll(): void {
    for (const slot of this.slots.values()) {
      slot.waiting?.destroy();
      slot.waiting = undefined;
    }
  }

  private flush(slot: ExtensionSlot): void {
    const res = slot.waiting;
    const event = slot.queue[0];
    if (!res || !event || res.writableEnded) return;
    slot.queue.shift();
    slot.waiting = undefined;
    const body = JSON.stringify(event);
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Lambda-Extension-Event-Identifier': randomUUID(),
    });
    res.end(body);
  }
}

/** Reads the `events` list of a register body; unknown names are dropped. */
export function parseRegisterBody(body: Buffer): ExtensionEventType[] | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8') || '{}') as { events?: unknown };
    if (parsed.events === undefined) return [];
    if (!Array.isArray(parsed.events)) return undefined;
    return parsed.events.filter((e): e is ExtensionEventType => e === 'INVOKE' || e === 'SHUTDOWN');
  } catch {
    return undefined;
  }
}
