/**
 * The compiled form of a filter pattern: a tree of matchers built once from the pattern's JSON,
 * so matching a record never re-reads the pattern text.
 */
import type { Glob, IpRange } from './filter-values.ts';

/** Lambda's limits on `filterCriteria`: patterns per mapping, characters per pattern. */
export const FILTERS_MAX = 10;
export const FILTER_PATTERN_MAX_CHARS = 4096;

/** A numeric bound; `inclusive` for `<=`, `>=` and `=`. */
export interface NumericBound {
  readonly value: number;
  readonly inclusive: boolean;
}

/** One alternative of a field's value list (the values of one array are ORed). */
export type ValueMatcher =
  | { readonly op: 'equals'; readonly value: string | number | boolean | null }
  | { readonly op: 'equals-ignore-case'; readonly lower: string }
  | { readonly op: 'prefix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly op: 'suffix'; readonly value: string; readonly ignoreCase: boolean }
  | { readonly op: 'wildcard'; readonly glob: Glob }
  | { readonly op: 'numeric'; readonly lower?: NumericBound; readonly upper?: NumericBound }
  | { readonly op: 'cidr'; readonly range: IpRange }
  | { readonly op: 'exists'; readonly value: boolean }
  /**
   * `anything-but`: a value matches when none of `inner` does. With `stringsOnly` (the prefix,
   * suffix, equals-ignore-case and wildcard forms) only string values can match at all.
   */
  | {
      readonly op: 'anything-but';
      readonly inner: readonly ValueMatcher[];
      readonly stringsOnly: boolean;
    };

/** A field of a pattern object: a value list (leaf) or a nested object pattern. */
export type FieldRule =
  | { readonly key: string; readonly kind: 'values'; readonly matchers: readonly ValueMatcher[] }
  | { readonly key: string; readonly kind: 'object'; readonly node: PatternNode };

/** One object level of a pattern: every field must match, and one branch of every `$or`. */
export interface PatternNode {
  readonly fields: readonly FieldRule[];
  readonly anyOf: readonly (readonly PatternNode[])[];
}

export interface CompiledPattern {
  /** Position in the mapping's filter list. */
  readonly index: number;
  readonly root: PatternNode;
}

/** A mapping's filters, compiled once; a record passes when any pattern matches (or there are none). */
export interface CompiledFilters {
  readonly patterns: readonly CompiledPattern[];
}
