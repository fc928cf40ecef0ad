import type { DatabaseSync, StatementSync } from 'node:sqlite';

/**
 * Every SQL statement the SQLite store runs, by name. They are prepared once when the store opens
 * (`prepareStatements`), so a query's text lives here and its use in `sqlite-store.ts`.
 */

/** An event is due when its time has come and no live lease holds it. */
const DUE = `next_attempt_at <= :now AND (lease_expires_at IS NULL OR lease_expires_at <= :now)`;

const SQLITE_STATEMENTS = {
  insert: `INSERT INTO async_events
      (function_name, payload, request_id, trace_id, first_received_at, next_attempt_at,
       idempotency_key)
    VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
  // A skip-scan over the (stage, function_name) index plus one indexed EXISTS per function:
  // DISTINCT over the due rows walked the whole backlog on every wake (45% of engine CPU at
  // 5,000 queued events).
  dueFunctions: `WITH RECURSIVE fns(name) AS (
      SELECT MIN(function_name) FROM async_events WHERE stage = 'invoke'
      UNION ALL
      SELECT (SELECT MIN(function_name) FROM async_events
        WHERE stage = 'invoke' AND function_name > fns.name)
      FROM fns WHERE fns.name IS NOT NULL)
    SELECT name AS function_name FROM fns WHERE name IS NOT NULL AND EXISTS (
      SELECT 1 FROM async_events WHERE stage = 'invoke' AND function_name = fns.name
        AND ${DUE})`,
  leaseInvoke: `UPDATE async_events SET lease_owner = :owner, lease_expires_at = :until
    WHERE id IN (SELECT id FROM async_events
      WHERE stage = 'invoke' AND function_name = :fn AND ${DUE}
      ORDER BY next_attempt_at, id LIMIT :limit)
    RETURNING *`,
  leaseDeliver: `UPDATE async_events SET lease_owner = :owner, lease_expires_at = :until
    WHERE id IN (SELECT id FROM async_events WHERE stage = 'deliver' AND ${DUE}
      ORDER BY next_attempt_at, id LIMIT :limit)
    RETURNING *`,
  renew: `UPDATE async_events SET lease_expires_at = ? WHERE lease_owner = ?`,
  releaseForeign: `UPDATE async_events SET lease_owner = NULL, lease_expires_at = NULL
    WHERE lease_owner IS NOT NULL AND lease_owner <> ?`,
  reschedule: `UPDATE async_events SET next_attempt_at = :next, attempts = :attempts,
      backoffs = :backoffs, last_error = :lastError, stage = :stage, deliveries = :deliveries,
      lease_owner = CASE WHEN :keep THEN lease_owner END,
      lease_expires_at = CASE WHEN :keep THEN lease_expires_at END
    WHERE id = :id AND lease_owner = :owner`,
  complete: `DELETE FROM async_events WHERE id = ?`,
  count: `SELECT COUNT(*) AS n FROM async_events`,
  eicGet: `SELECT config FROM event_invoke_configs WHERE function_name = ?`,
  eicList: `SELECT function_name, config FROM event_invoke_configs`,
  eicPut: `INSERT INTO event_invoke_configs (function_name, config) VALUES (?, ?)
    ON CONFLICT (function_name) DO UPDATE SET config = excluded.config`,
  eicDelete: `DELETE FROM event_invoke_configs WHERE function_name = ?`,
  rcGet: `SELECT reserved FROM reserved_concurrency WHERE function_name = ?`,
  rcList: `SELECT function_name, reserved FROM reserved_concurrency`,
  rcPut: `INSERT INTO reserved_concurrency (function_name, reserved) VALUES (?, ?)
    ON CONFLICT (function_name) DO UPDATE SET reserved = excluded.reserved`,
  kvGet: `SELECT value FROM kv WHERE namespace = ? AND key = ?`,
  kvPut: `INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value,
      updated_at = excluded.updated_at`,
  kvDelete: `DELETE FROM kv WHERE namespace = ? AND key = ?`,
  kvList: `SELECT key, value FROM kv WHERE namespace = ? ORDER BY key`,
  tagsList: `SELECT tag_key, value FROM resource_tags WHERE resource = ? ORDER BY tag_key`,
  tagPut: `INSERT INTO resource_tags (resource, tag_key, value) VALUES (?, ?, ?)
    ON CONFLICT (resource, tag_key) DO UPDATE SET value = excluded.value`,
  tagDelete: `DELETE FROM resource_tags WHERE resource = ? AND tag_key = ?`,
  dedupSeen: `SELECT 1 AS hit FROM trigger_dedup WHERE key = ? AND expires_at > ?`,
  dedupPut: `INSERT INTO trigger_dedup (key, expires_at) VALUES (?, ?)
    ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at`,
  dedupPurge: `DELETE FROM trigger_dedup WHERE expires_at <= ?`,
} as const;

export type StatementName = keyof typeof SQLITE_STATEMENTS;

/** Prepares every statement on `db`. */
export function prepareStatements(db: DatabaseSync): Record<StatementName, StatementSync> {
  const prepared = {} as Record<StatementName, StatementSync>;
  for (const [name, sql] of Object.entries(SQLITE_STATEMENTS)) {
    prepared[name as StatementName] = db.prepare(sql);
  }
  return prepared;
}
