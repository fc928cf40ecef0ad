import { statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite-migrations.ts';
import { tempStorePath } from '../support/temp.ts';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function open(path?: string) {
  const tmp = path ? undefined : tempStorePath();
  const store = new SqliteStore({ path: path ?? (tmp as { path: string }).path });
  cleanups.push(() => store.close());
  if (tmp) cleanups.push(tmp.cleanup);
  return { store, path: path ?? (tmp as { path: string }).path };
}

const event = (i: number, fn = 'f', extra: { idempotencyKey?: string } = {}) => ({
  functionName: fn,
  payload: Buffer.from(JSON.stringify({ i })),
  requestId: `req-${i}`,
  receivedAtMs: 1000 + i,
  ...extra,
});

describe('SqliteStore', () => {
  it('loads node:sqlite without leaving its warning filter installed', async () => {
    const before = process.emitWarning;
    const { loadSqlite } = await import('../../src/store/sqlite-driver.ts');
    expect(loadSqlite().DatabaseSync).toBeTypeOf('function');
    expect(process.emitWarning).toBe(before);
  });

  it('migrates a new file to the latest schema version and reopens it unchanged', async () => {
    const { store, path } = open();
    expect(store.schemaVersion).toBe(SQLITE_MIGRATIONS.length);
    await store.enqueue(event(1));
    await store.close();
    const again = new SqliteStore({ path });
    cleanups.push(() => again.close());
    expect(again.schemaVersion).toBe(SQLITE_MIGRATIONS.length);
    expect(await again.depth()).toBe(1);
  });

  it("keeps an event's trace header and upgrades a schema-2 file whose rows have none", async () => {
    const tmp = tempStorePath();
    cleanups.push(tmp.cleanup);
    const { loadSqlite } = await import('../../src/store/sqlite-driver.ts');
    const old = new (loadSqlite().DatabaseSync)(tmp.path);
    for (const step of SQLITE_MIGRATIONS.slice(0, 2)) old.exec(step);
    old.exec('PRAGMA user_version = 2');
    old.exec(`INSERT INTO async_events (function_name, payload, request_id, first_received_at,
      next_attempt_at) VALUES ('f', x'7b7d', 'req-old', 1, 1)`);
    old.close();
    const { store } = open(tmp.path);
    expect(store.schemaVersion).toBe(SQLITE_MIGRATIONS.length);
    const traceId = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    await store.enqueue({ ...event(2), traceId });
    const rows = await store.leaseForInvoke('f', {
      owner: 'A',
      nowMs: 5000,
      leaseMs: 100,
      limit: 5,
    });
    expect(rows.map((r) => [r.requestId, r.traceId])).toEqual([
      ['req-old', undefined],
      ['req-2', traceId],
    ]);
  });

  it('leases due rows oldest first, hides leased rows, and gives them back when the lease lapses', async () => {
    const { store } = open();
    for (let i = 0; i < 5; i++) await store.enqueue(event(i));
    await store.enqueue(event(9, 'g'));
    expect((await store.dueFunctions(2000)).sort()).toEqual(['f', 'g']);
    const a = await store.leaseForInvoke('f', { owner: 'A', nowMs: 2000, leaseMs: 100, limit: 3 });
    expect(a.map((r) => r.requestId)).toEqual(['req-0', 'req-1', 'req-2']);
    expect(a[0]?.payload.toString()).toBe('{"i":0}');
    expect(a[0]?.leaseOwner).toBe('A');
    const b = await store.leaseForInvoke('f', { owner: 'B', nowMs: 2050, leaseMs: 100, limit: 10 });
    expect(b.map((r) => r.requestId)).toEqual(['req-3', 'req-4']);
    // A's lease lapsed at 2100: B may take those rows.
    const c = await store.leaseForInvoke('f', { owner: 'B', nowMs: 2101, leaseMs: 100, limit: 10 });
    expect(c.map((r) => r.requestId)).toEqual(['req-0', 'req-1', 'req-2']);
    // A lost its lease: its write is refused.
    expect(
      await store.reschedule(c[0]!.id, 'A', {
        stage: 'invoke',
        nextAttemptAtMs: 0,
        attempts: 1,
        backoffs: 0,
        lastError: undefined,
        deliveries: undefined,
      }),
    ).toBe(false);
  });

  it('reschedules (releasing or keeping the lease), completes, and counts depth', async () => {
    const { store } = open();
    await store.enqueue(event(1));
    await store.enqueue(event(2));
    expect(await store.depth()).toBe(2);
    const [row] = await store.leaseForInvoke('f', {
      owner: 'A',
      nowMs: 5000,
      leaseMs: 60_000,
      limit: 1,
    });
    await store.reschedule(row!.id, 'A', {
      stage: 'invoke',
      nextAttemptAtMs: 9000,
      attempts: 1,
      backoffs: 0,
      lastError: '{"statusCode":200}',
      deliveries: undefined,
    });
    // Not due before 9000, due after, with the new state.
    expect(
      await store.leaseForInvoke('f', { owner: 'A', nowMs: 8999, leaseMs: 10, limit: 5 }),
    ).toHaveLength(1);
    const [again] = await store.leaseForInvoke('f', {
      owner: 'A',
      nowMs: 9000,
      leaseMs: 60_000,
      limit: 5,
    });
    expect(again).toMatchObject({ id: row!.id, attempts: 1, lastError: '{"statusCode":200}' });
    await store.reschedule(again!.id, 'A', {
      keepLease: true,
      stage: 'deliver',
      nextAttemptAtMs: 9000,
      attempts: 1,
      backoffs: 0,
      lastError: undefined,
      deliveries: '[]',
    });
    // Still leased by A: nobody else gets it for delivery.
    expect(
      await store.leaseForDelivery({ owner: 'B', nowMs: 9001, leaseMs: 10, limit: 5 }),
    ).toEqual([]);
    await store.complete(again!.id);
    expect(await store.depth()).toBe(1);
  });

  it('renews the leases of one owner and releases those of others', async () => {
    const { store } = open();
    for (let i = 0; i < 4; i++) await store.enqueue(event(i));
    await store.leaseForInvoke('f', { owner: 'old', nowMs: 2000, leaseMs: 100, limit: 2 });
    await store.leaseForInvoke('f', { owner: 'new', nowMs: 2000, leaseMs: 100, limit: 2 });
    expect(await store.renewLeases('new', 10_000)).toBe(2);
    expect(await store.releaseForeignLeases('new')).toBe(2);
    const free = await store.leaseForInvoke('f', {
      owner: 'x',
      nowMs: 2001,
      leaseMs: 100,
      limit: 10,
    });
    expect(free.map((r) => r.requestId)).toEqual(['req-0', 'req-1']);
  });

  it('ignores a second event with a queued idempotency key', async () => {
    const { store } = open();
    expect(await store.enqueue(event(1, 'f', { idempotencyKey: 'k' }))).toBe(true);
    expect(await store.enqueue(event(2, 'f', { idempotencyKey: 'k' }))).toBe(false);
    expect(await store.enqueue(event(3))).toBe(true);
    expect(await store.enqueue(event(4))).toBe(true);
    expect(await store.depth()).toBe(3);
  });

  it('keeps event-invoke-config and reserved-concurrency overrides and key-values', async () => {
    const { store, path } = open();
    const cfg = {
      maximumRetryAttempts: 1,
      maximumEventAgeMs: 60_000,
      onSuccess: { type: 'function' as const, uri: 'function:g', functionName: 'g' },
      onFailure: undefined,
      lastModifiedMs: 123,
    };
    await store.putEventInvokeConfig('f', cfg);
    await store.setReservedConcurrency('f', 5);
    await store.setReservedConcurrency('g', null);
    await store.kvPut('mappings', 'm1', '{"a":1}');
    await store.kvPut('mappings', 'm1', '{"a":2}');
    await store.close();
    const again = new SqliteStore({ path });
    cleanups.push(() => again.close());
    expect(await again.getEventInvokeConfig('f')).toEqual({
      maximumRetryAttempts: 1,
      maximumEventAgeMs: 60_000,
      onSuccess: cfg.onSuccess,
      lastModifiedMs: 123,
    });
    expect([...(await again.listEventInvokeConfigs()).keys()]).toEqual(['f']);
    expect(await again.getReservedConcurrency('f')).toBe(5);
    expect(await again.getReservedConcurrency('g')).toBeNull();
    expect(await again.getReservedConcurrency('h')).toBeUndefined();
    expect(await again.kvGet('mappings', 'm1')).toBe('{"a":2}');
    expect([...(await again.kvList('mappings'))]).toEqual([['m1', '{"a":2}']]);
    expect(await again.kvDelete('mappings', 'm1')).toBe(true);
    expect(await again.deleteEventInvokeConfig('f')).toBe(true);
    expect(await again.getEventInvokeConfig('f')).toBeUndefined();
  });

  it('creates the database and its -wal and -shm files readable by the owner only (0600)', async () => {
    const { store, path } = open();
    await store.enqueue(event(1));
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      expect({ file, mode: (statSync(file).mode & 0o777).toString(8) }).toEqual({
        file,
        mode: '600',
      });
    }
  });

  it('close is idempotent and later calls fail with a STORE error', async () => {
    const { store } = open();
    await store.close();
    await store.close();
    await expect(store.depth()).resolves.toBeTypeOf('number');
    await expect(store.enqueue(event(1))).rejects.toMatchObject({ code: 'STORE' });
  });
});
