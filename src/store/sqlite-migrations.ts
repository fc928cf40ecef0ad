/**
 * Schema of the SQLite store, one step per `user_version`. A step is never edited once released:
 * a change is a new step appended here, so every existing file upgrades in order.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  // 1: the async queue, event-invoke-config and reserved-concurrency overrides, a generic table.
  `
  CREATE TABLE async_events (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    function_name     TEXT    NOT NULL,
    payload           BLOB    NOT NULL,
    request_id        TEXT    NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    backoffs          INTEGER NOT NULL DEFAULT 0,
    first_received_at INTEGER NOT NULL,
    next_attempt_at   INTEGER NOT NULL,
    last_error        TEXT,
    stage             TEXT    NOT NULL DEFAULT 'invoke' CHECK (stage IN ('invoke', 'deliver')),
    deliveries        TEXT,
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    idempotency_key   TEXT UNIQUE
  );
  CREATE INDEX async_events_due ON async_events (stage, function_name, next_attempt_at);
  CREATE INDEX async_events_lease ON async_events (lease_owner);
  CREATE TABLE event_invoke_configs (
    function_name TEXT PRIMARY KEY,
    config        TEXT NOT NULL
  );
  CREATE TABLE reserved_concurrency (
    function_name TEXT PRIMARY KEY,
    reserved      INTEGER
  );
  CREATE TABLE kv (
    namespace  TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
  ) WITHOUT ROWID;
  `,
  // 2: push triggers remember the records they accepted for a window after the queue row is gone
  // (rows are deleted when done), so a pusher's late retry is not invoked twice.
  `
  CREATE TABLE trigger_dedup (
    key        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX trigger_dedup_expiry ON trigger_dedup (expires_at);
  `,
  // 3: resource tags (TagResource / ListTags / UntagResource), one row per tag, keyed by the
  // resource's ARN as the caller gave it (unqualified function ARN).
  `
  CREATE TABLE resource_tags (
    resource TEXT NOT NULL,
    tag_key  TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (resource, tag_key)
  ) WITHOUT ROWID;
  `,
  // 4: an asynchronous invoke runs under the trace id of the request that was accepted (#17).
  `
  ALTER TABLE async_events ADD COLUMN trace_id TEXT;
  `,
];
