import type { DestinationConfig } from '../config/types.ts';

/**
 * The engine's durable state, behind one interface so the embedded SQLite store can be swapped
 * for another backend. Every method is async even where SQLite is synchronous, so a networked
 * store fits the same seam. No connection or transaction type leaks out of an implementation.
 */

/** Where a queued event is in its life: waiting to be invoked, or invoked and awaiting delivery. */
export type QueuedEventStage = 'invoke' | 'deliver';

/** One asynchronous invocation waiting in the queue. Times are epoch milliseconds. */
export interface QueuedEvent {
  id: number;
  functionName: string;
  payload: Buffer;
  requestId: string;
  /** X-Ray trace header of the accepted request; undefined for rows queued before schema 3. */
  traceId: string | undefined;
  /** Invokes that ran and returned a result (the record's `approximateInvokeCount`). */
  attempts: number;
  /** Throttle / engine-error retries so far (drives the backoff). */
  backoffs: number;
  firstReceivedAtMs: number;
  nextAttemptAtMs: number;
  /** JSON of the last failure (see `LastError` in the async module); undefined before any. */
  lastError: string | undefined;
  stage: QueuedEventStage;
  /** JSON of the deliveries still owed (stage `deliver` only). */
  deliveries: string | undefined;
  leaseOwner: string | undefined;
  leaseExpiresAtMs: number | undefined;
  idempotencyKey: string | undefined;
}

export interface NewQueuedEvent {
  functionName: string;
  payload: Buffer;
  requestId: string;
  /** X-Ray trace header of the accepted request (Lambda keeps it for the async invoke). */
  traceId?: string;
  receivedAtMs: number;
  /** A second event with the same key is not inserted while the first is still queued. */
  idempotencyKey?: string;
}

/**
 * What `reschedule` changes on a leased row. The lease is released in the same write, unless
 * `keepLease` (the owner goes on working on the row, e.g. delivering right after the invoke).
 */
export interface RescheduleUpdate {
  keepLease?: boolean;
  nextAttemptAtMs: number;
  attempts: number;
  backoffs: number;
  lastError: string | undefined;
  stage: QueuedEventStage;
  deliveries: string | undefined;
}

export interface LeaseRequest {
  owner: string;
  nowMs: number;
  leaseMs: number;
  limit: number;
}

/** An override of a function's event-invoke-config made through the API. */
export interface StoredEventInvokeConfig {
  maximumRetryAttempts: number;
  maximumEventAgeMs: number;
  /** Resolved destinations (their `uri` is Lambda's `Destination` string); undefined = none. */
  onSuccess: DestinationConfig | undefined;
  onFailure: DestinationConfig | undefined;
  lastModifiedMs: number;
  /**
   * Set by DeleteFunctionEventInvokeConfig: the function has no event-invoke-config (defaults
   * apply, GET answers 404) even if the config file declares one.
   */
  deleted?: boolean;
}

export interface AsyncQueueStore {
  /** Durably inserts an event; `false` when its idempotency key is already queued. */
  enqueue(event: NewQueuedEvent): Promise<boolean>;
  /** Functions with stage-`invoke` rows due now and not leased. */
  dueFunctions(nowMs: number): Promise<string[]>;
  /** Leases up to `limit` due stage-`invoke` rows of a function, oldest due first. */
  leaseForInvoke(functionName: string, request: LeaseRequest): Promise<QueuedEvent[]>;
  /** Leases up to `limit` due stage-`deliver` rows (they need no function capacity). */
  leaseForDelivery(request: LeaseRequest): Promise<QueuedEvent[]>;
  /** Extends every lease `owner` holds (a heartbeat while invokes and deliveries run). */
  renewLeases(owner: string, leaseExpiresAtMs: number): Promise<number>;
  /** Clears leases of owners other than `owner` (a restarted engine takes its rows back). */
  releaseForeignLeases(owner: string): Promise<number>;
  /** Writes the row's new state and releases its lease; false if `owner` lost the lease. */
  reschedule(id: number, owner: string, update: RescheduleUpdate): Promise<boolean>;
  /** Deletes a finished row. */
  complete(id: number): Promise<void>;
  /** Rows queued (both stages). */
  depth(): Promise<number>;
}

/**
 * Keys of records a push trigger accepted, kept until they expire: the queue's own idempotency
 * key only holds while the row is queued, and a pusher may retry after the invoke is done.
 */
export interface TriggerDedupStore {
  /** True when `key` was remembered and has not expired at `nowMs`. */
  triggerDedupSeen(key: string, nowMs: number): Promise<boolean>;
  /** Remembers `key` until `expiresAtMs` (a later call moves the expiry). */
  triggerDedupRemember(key: string, expiresAtMs: number): Promise<void>;
  /** Forgets keys expired at `nowMs`; returns how many. */
  triggerDedupPurge(nowMs: number): Promise<number>;
}

export interface StateStore extends AsyncQueueStore, TriggerDedupStore {
  /**
   * Whether the store can be read now (for `/readyz`): a cheap read, never blocked by writers.
   * Optional: stores without it count as reachable.
   */
  health?(): { ok: boolean; detail?: string };

  getEventInvokeConfig(functionName: string): Promise<StoredEventInvokeConfig | undefined>;
  listEventInvokeConfigs(): Promise<Map<string, StoredEventInvokeConfig>>;
  putEventInvokeConfig(functionName: string, config: StoredEventInvokeConfig): Promise<void>;
  deleteEventInvokeConfig(functionName: string): Promise<boolean>;

  /** Run-time reserved concurrency; `null` = explicitly removed (overrides the file). */
  getReservedConcurrency(functionName: string): Promise<number | null | undefined>;
  listReservedConcurrency(): Promise<Map<string, number | null>>;
  setReservedConcurrency(functionName: string, reserved: number | null): Promise<void>;

  /** Tags of a resource (by ARN); an empty map when it has none. */
  listTags(resource: string): Promise<Map<string, string>>;
  /** Adds or overwrites the given tags of a resource. */
  tagResource(resource: string, tags: ReadonlyMap<string, string>): Promise<void>;
  /** Removes the given tag keys of a resource (missing keys are ignored). */
  untagResource(resource: string, keys: readonly string[]): Promise<void>;

  /** A generic namespaced key-value table (e.g. mappings created through the API). */
  kvGet(namespace: string, key: string): Promise<string | undefined>;
  kvPut(namespace: string, key: string, value: string): Promise<void>;
  kvDelete(namespace: string, key: string): Promise<boolean>;
  kvList(namespace: string): Promise<Map<string, string>>;

  /** Closes the store; idempotent and awaitable. */
  close(): Promise<void>;
}
