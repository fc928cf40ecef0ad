/**
 * Which S3 records a trigger invokes its function for: S3's event-type patterns and key
 * prefix/suffix filter rules, as in a bucket's notification configuration. Pure.
 */

/** What a trigger matches on (see `TriggerConfig`). */
export interface S3MatchRules {
  /** Patterns with the `s3:` prefix: `s3:*`, `s3:ObjectCreated:*`, `s3:ObjectCreated:Put`. */
  events: readonly string[];
  /** Key filter on the decoded key; empty strings match everything. */
  filter: { prefix: string; suffix: string };
}

/** Why a record was not matched (for logs and metrics), or `undefined` when it matches. */
export type S3MismatchReason = 'event' | 'prefix' | 'suffix';

/**
 * True when `eventName` (with or without the `s3:` prefix) matches `pattern`. `s3:*` matches
 * every event, `s3:<Family>:*` every event of the family; a pattern with no second part
 * (`s3:ObjectCreated`) is taken as the whole family too. Otherwise the names must be equal —
 * case-sensitively, as S3 compares them.
 */
export function eventMatches(pattern: string, eventName: string): boolean {
  const p = withPrefix(pattern);
  const name = withPrefix(eventName);
  if (p === 's3:*') return true;
  if (p.endsWith(':*')) return name.startsWith(p.slice(0, -1));
  if (p.split(':').length === 2) return name.startsWith(`${p}:`);
  return name === p;
}

/** Checks a record's event name and decoded key against the rules. */
export function mismatchReason(
  rules: S3MatchRules,
  eventName: string,
  decodedKey: string,
): S3MismatchReason | undefined {
  if (!rules.events.some((p) => eventMatches(p, eventName))) return 'event';
  if (!decodedKey.startsWith(rules.filter.prefix)) return 'prefix';
  if (!decodedKey.endsWith(rules.filter.suffix)) return 'suffix';
  return undefined;
}

function withPrefix(name: string): string {
  return name.startsWith('s3:') ? name : `s3:${name}`;
}
