import { createRequire } from 'node:module';
import type * as NodeSqlite from 'node:sqlite';

type SqliteModule = typeof NodeSqlite;

let loaded: SqliteModule | undefined;

/**
 * Loads Node's built-in `node:sqlite` (no native module to build). Node 22 marks it experimental
 * and prints an ExperimentalWarning on first load; that line would land in every engine start's
 * output and tell the user nothing they can act on. So only around this one synchronous load,
 * `process.emitWarning` drops that one warning (type ExperimentalWarning, message about SQLite);
 * every other warning passes through, and the original function is restored before returning.
 * A `process.on('warning')` listener could not do this: Node's default printer still runs.
 */
export function loadSqlite(): SqliteModule {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const original = process.emitWarning;
  process.emitWarning = function filtered(
    this: unknown,
    warning: string | Error,
    ...rest: unknown[]
  ) {
    const first = rest[0];
    const type = typeof first === 'string' ? first : (first as { type?: string } | undefined)?.type;
    const text = typeof warning === 'string' ? warning : warning.message;
    if (type === 'ExperimentalWarning' && text.startsWith('SQLite')) return;
    return (original as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    loaded = require('node:sqlite') as SqliteModule;
  } finally {
    process.emitWarning = original;
  }
  return loaded;
}
