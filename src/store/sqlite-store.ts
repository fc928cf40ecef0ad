import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { SluiceError } from '../errors.ts';
import { loadSqlite } from './sqlite-driver.ts';
import { SQLITE_MIGRATIONS } from './sqlite-migrations.ts';
import { prepareStatements, type StatementName } from './sqlite-statements.ts';
import type {
  LeaseRequest,
  NewQueuedEvent,
  QueuedEvent,
  QueuedEventStage,
  RescheduleUpdate,
  StateStore,
  StoredEventInvokeConfig,
} from './state-store.ts';

export interface SqliteStoreOptions {
  /** File path, or `:memory:` (tests). The folder is created when missing. */
  path: string;
  /**
   * `NORMAL` (default): in WAL mode a commit is in the OS page cache when the call returns, so it
   * survives the engine process being killed (kill -9, crash, OOM) — the at-least-once promise —
   * but the last commits may be lost if the machine itself loses power. `FULL` fsyncs every
   * commit (survives power loss) at a cost of roughly one disk flush per enqueue.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a write waits for another connection's lock; default 5000 ms. */
  busyTimeoutMs?: number;
}

interface EventRow {
  id: number;
  function_name: string;
  payload: Uint8Array;
  request_id: string;
  trace_id: string | null;
  attempts: number;
  backoffs: number;
  first_received_at: number;
  next_attempt_at: number;
  last_error: string | null;
  stage: QueuedEventStage;
  deliveries: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  idempotency_key: string | null;
}

/**
 * The file holds event payloads: owner-only (0600) from its first byte. SQLite gives the `-wal`,
 * `-shm` and `-journal` files it creates later the mode of the database file, so creating (or
 * tightening) the main file is enough for new ones; companions left by an older run are
 * tightened too.
 */
function createOwnerOnly(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

/**
 * The embedded default store: one SQLite file in WAL mode via Node's built-in `node:sqlite`.
 * Calls are synchronous underneath (microseconds each in WAL mode) and wrapped in promises to
 * satisfy the pluggable interface. One engine owns a file at a time.
 */
export class SqliteStore implements StateStore {
  readonly #db: DatabaseSync;
  readonly #s: Record<StatementName, StatementSync>;
  #depth: number;
  #closed = false;

  constructor(options: SqliteStoreOptions) {
    const { DatabaseSync } = loadSqlite();
    try {
      if (options.path !== ':memory:') createOwnerOnly(options.path);
      this.#db = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
      if (options.path !== ':memory:') this.#db.exec('PRAGMA journal_mode = WAL');
      this.#db.exec(`PRAGMA synchronous = ${options.synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
      this.#migrate();
    } catch (err) {
      throw new SluiceError(
        'STORE',
        `cannot open the state store at ${options.path}: ${String(err)}`,
        {
          cause: err,
          context: { path: options.path },
        },
      );
    }
    this.#s = prepareStatements(this.#db);
    // Kept in memory: COUNT(*) over a large backlog on every enqueue would be a table scan.
    this.#depth = (this.#s.count.get() as { n: number }).n;
  }

  /** Schema version of the open file (the number of migrations applied). */
  get schemaVersion(): number {
    return (this.#db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  }

  async enqueue(event: NewQueuedEvent): Promise<boolean> {
    const r = this.#stmt('insert').run(
      event.functionName,
      event.payload,
      event.requestId,
      event.traceId ?? null,
      event.receivedAtMs,
      event.receivedAtMs,
      event.idempotencyKey ?? null,
    );
    const inserted = Number(r.changes) === 1;
    if (inserted) this.#depth += 1;
    return inserted;
  }

  async dueFunctions(nowMs: number): Promise<string[]> {
    const rows = this.#stmt('dueFunctions').all({ now: nowMs }) as { function_name: string }[];
    return rows.map((r) => r.function_name);
  }

  async leaseForInvoke(functionName: string, request: LeaseRequest): Promise<QueuedEvent[]> {
    if (request.limit <= 0) return [];
    const rows = this.#stmt('leaseInvoke').all({
      owner: request.owner,
      until: request.nowMs + request.leaseMs,
      fn: functionName,
      now: request.nowMs,
      limit: request.limit,
    }) as unknown as EventRow[];
    return rows.map(toEvent).sort(byDue);
  }

  async leaseForDelivery(request: LeaseRequest): Promise<QueuedEvent[]> {
    if (request.limit <= 0) return [];
    const rows = this.#stmt('leaseDeliver').all({
      owner: request.owner,
      until: request.nowMs + request.leaseMs,
      now: request.nowMs,
      limit: request.limit,
    }) as unknown as EventRow[];
    return rows.map(toEvent).sort(byDue);
  }

  async renewLeases(owner: string, leaseExpiresAtMs: number): Promise<number> {
    return Number(this.#stmt('renew').run(leaseExpiresAtMs, owner).changes);
  }

  async releaseForeignLeases(owner: string): Promise<number> {
    return Number(this.#stmt('releaseForeign').run(owner).changes);
  }

  async reschedule(id: number, owner: string, u: RescheduleUpdate): Promise<boolean> {
    const r = this.#stmt('reschedule').run({
      id,
      owner,
      next: u.nextAttemptAtMs,
      attempts: u.attempts,
      backoffs: u.backoffs,
      lastError: u.lastError ?? null,
      stage: u.stage,
      deliveries: u.deliveries ?? null,
      keep: u.keepLease ? 1 : 0,
    });
    return Number(r.changes) === 1;
  }

  async complete(id: number): Promise<void> {
    const r = this.#stmt('complete').run(id);
    this.#depth -= Number(r.changes);
  }

  async depth(): Promise<number> {
    return this.#depth;
  }

  async getEventInvokeConfig(functionName: string): Promise<StoredEventInvokeConfig | undefined> {
    const row = this.#stmt('eicGet').get(functionName) as { config: string } | undefined;
    return row ? (JSON.parse(row.config) as StoredEventInvokeConfig) : undefined;
  }

  async listEventInvokeConfigs(): Promise<Map<string, StoredEventInvokeConfig>> {
    const rows = this.#stmt('eicList').all() as { function_name: string; config: string }[];
    return new Map(rows.map((r) => [r.function_name, JSON.parse(r.config)]));
  }

  async putEventInvokeConfig(name: string, config: StoredEventInvokeConfig): Promise<void> {
    this.#stmt('eicPut').run(name, JSON.stringify(config));
  }

  async deleteEventInvokeConfig(functionName: string): Promise<boolean> {
    return Number(this.#stmt('eicDelete').run(functionName).changes) > 0;
  }

  async getReservedConcurrency(functionName: string): Promise<number | null | undefined> {
    const row = this.#stmt('rcGet').get(functionName) as { reserved: number | null } | undefined;
    return row?.reserved;
  }

  async listReservedConcurrency(): Promise<Map<string, number | null>> {
    const rows = this.#stmt('rcList').all() as { function_name: string; reserved: number | null }[];
    return new Map(rows.map((r) => [r.function_name, r.reserved]));
  }

  async setReservedConcurrency(functionName: string, reserved: number | null): Promise<void> {
    this.#stmt('rcPut').run(functionName, reserved);
  }

  async kvGet(namespace: string, key: string): Promise<string | undefined> {
    return (this.#stmt('kvGet').get(namespace, key) as { value: string } | undefined)?.value;
  }

  async kvPut(namespace: string, key: string, value: string): Promise<void> {
    this.#stmt('kvPut').run(namespace, key, value, Date.now());
  }

  async kvDelete(namespace: string, key: string): Promise<boolean> {
    return Number(this.#stmt('kvDelete').run(namespace, key).changes) > 0;
  }

  async kvList(namespace: string): Promise<Map<string, string>> {
    const rows = this.#stmt('kvList').all(namespace) as { key: string; value: string }[];
    return new Map(rows.map((r) => [r.key, r.value]));
  }

  async listTags(resource: string): Promise<Map<string, string>> {
    const rows = this.#stmt('tagsList').all(resource) as { tag_key: string; value: string }[];
    return new Map(rows.map((r) => [r.tag_key, r.value]));
  }

  async tagResource(resource: string, tags: ReadonlyMap<string, string>): Promise<void> {
    this.#transaction(() => {
      for (const [key, value] of tags) this.#stmt('tagPut').run(resource, key, value);
    });
  }

  async untagResource(resource: string, keys: readonly string[]): Promise<void> {
    this.#transaction(() => {
      for (const key of keys) this.#stmt('tagDelete').run(resource, key);
    });
  }

  /** Runs `work` in one write transaction (all tags of a call land together, or none). */
  #transaction(work: () => void): void {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      work();
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  async triggerDedupSeen(key: string, nowMs: number): Promise<boolean> {
    return this.#stmt('dedupSeen').get(key, nowMs) !== undefined;
  }

  async triggerDedupRemember(key: string, expiresAtMs: number): Promise<void> {
    this.#stmt('dedupPut').run(key, expiresAtMs);
  }

  async triggerDedupPurge(nowMs: number): Promise<number> {
    return Number(this.#stmt('dedupPurge').run(nowMs).changes);
  }

  health(): { ok: boolean; detail?: string } {
    if (this.#closed) return { ok: false, detail: 'the state store is closed' };
    try {
      // Reads the schema page: fails when the file cannot be read; WAL readers never wait.
      this.#db.prepare('SELECT count(*) FROM sqlite_master').get();
      return { ok: true };
    } catch (err) {
      return { ok: false, detail: `the state store cannot be read: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  #stmt(name: StatementName): StatementSync {
    if (this.#closed) throw new SluiceError('STORE', 'the state store is closed');
    return this.#s[name];
  }

  /** Applies the steps after the file's `user_version`, each in its own transaction. */
  #migrate(): void {
    const current = (this.#db.prepare('PRAGMA user_version').get() as { user_version: number })
      .user_version;
    if (current > SQLITE_MIGRATIONS.length) {
      throw new Error(
        `schema version ${current} is newer than this sluice knows (${SQLITE_MIGRATIONS.length}); refusing to open it`,
      );
    }
    for (let v = current; v < SQLITE_MIGRATIONS.length; v++) {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        this.#db.exec(SQLITE_MIGRATIONS[v] as string);
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
        this.#db.exec('COMMIT');
      } catch (err) {
        this.#db.exec('ROLLBACK');
        throw err;
      }
    }
  }
}

function toEvent(r: EventRow): QueuedEvent {
  return {
    id: r.id,
    functionName: r.function_name,
    payload: Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength),
    requestId: r.request_id,
    traceId: r.trace_id ?? undefined,
    attempts: r.attempts,
    backoffs: r.backoffs,
    firstReceivedAtMs: r.first_received_at,
    nextAttemptAtMs: r.next_attempt_at,
    lastError: r.last_error ?? undefined,
    stage: r.stage,
    deliveries: r.deliveries ?? undefined,
    leaseOwner: r.lease_owner ?? undefined,
    leaseExpiresAtMs: r.lease_expires_at ?? undefined,
    idempotencyKey: r.idempotency_key ?? undefined,
  };
}

function byDue(a: QueuedEvent, b: QueuedEvent): number {
  return a.nextAttemptAtMs - b.nextAttemptAtMs || a.id - b.id;
}
