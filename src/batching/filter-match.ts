/**
 * Matches a compiled pattern (see filter-pattern.ts) against a JSON value.
 *
 * Semantics (EventBridge): every field named must match (except `exists: false`, which matches an
 * absent field); values of one list are ORed; an event array matches when any element matches;
 * nested objects recurse; numbers compare numerically and strings exactly. Arrays of objects are
 * matched element by element, so two conditions of one nested pattern must hold in the same
 * element (EventBridge's array-consistent behaviour).
 */
import type { FieldRule, PatternNode, ValueMatcher } from './filter-types.ts';
import { matchCidr, matchGlob } from './filter-values.ts';

type Lookup = (key: string) => unknown;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only, so a field named `constructor` or `__proto__` is never inherited. */
function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

const ABSENT: Lookup = () => undefined;

/**
 * True when `value` matches the pattern node. An absent value (undefined) can still match a node
 * made only of `exists: false` fields; a scalar never matches an object pattern (that is how a
 * plain-string SQS body is filtered out by a pattern on its JSON fields).
 */
export function matchesNode(node: PatternNode, value: unknown): boolean {
  if (value === undefined) return matchesFields(node, ABSENT);
  if (Array.isArray(value)) {
    if (value.length === 0) return matchesFields(node, ABSENT);
    return value.some((element) => matchesNode(node, element));
  }
  if (!isPlainObject(value)) return false;
  return matchesFields(node, (key) => own(value, key));
}

/** Matches a node against an object given by a lookup (lets callers substitute a decoded field). */
export function matchesFields(node: PatternNode, lookup: Lookup): boolean {
  for (const field of node.fields) {
    if (!matchesField(field, lookup(field.key))) return false;
  }
  for (const branches of node.anyOf) {
    if (!branches.some((branch) => matchesFields(branch, lookup))) return false;
  }
  return true;
}

function matchesField(field: FieldRule, value: unknown): boolean {
  if (field.kind === 'object') return matchesNode(field.node, value);
  return matchesValueList(field.matchers, value);
}

/** Leaf values of a field: arrays are flattened; objects are not leaves (exists is leaf-only). */
function collectLeaves(value: unknown, into: unknown[]): unknown[] {
  if (Array.isArray(value)) {
    for (const element of value) collectLeaves(element, into);
  } else if (value !== undefined && !isPlainObject(value)) {
    into.push(value);
  }
  return into;
}

function matchesValueList(matchers: readonly ValueMatcher[], value: unknown): boolean {
  // Fast path for the common case of one scalar value.
  const leaves =
    value !== undefined && !Array.isArray(value) && !isPlainObject(value)
      ? [value]
      : collectLeaves(value, []);
  for (const matcher of matchers) {
    if (matcher.op === 'exists') {
      if (matcher.value === leaves.length > 0) return true;
    } else if (leaves.some((leaf) => matchesLeaf(matcher, leaf))) {
      return true;
    }
  }
  return false;
}

function withinBounds(m: Extract<ValueMatcher, { op: 'numeric' }>, n: number): boolean {
  if (m.lower !== undefined && !(m.lower.inclusive ? n >= m.lower.value : n > m.lower.value)) {
    return false;
  }
  if (m.upper !== undefined && !(m.upper.inclusive ? n <= m.upper.value : n < m.upper.value)) {
    return false;
  }
  return true;
}

/** One matcher against one leaf value (string, number, boolean or null). */
export function matchesLeaf(m: ValueMatcher, leaf: unknown): boolean {
  switch (m.op) {
    case 'equals':
      // `5` matches `5.0`: JSON numbers are compared as numbers, strings exactly.
      return leaf === m.value;
    case 'equals-ignore-case':
      return typeof leaf === 'string' && leaf.toLowerCase() === m.lower;
    case 'prefix':
      if (typeof leaf !== 'string') return false;
      return (m.ignoreCase ? leaf.toLowerCase() : leaf).startsWith(m.value);
    case 'suffix':
      if (typeof leaf !== 'string') return false;
      return (m.ignoreCase ? leaf.toLowerCase() : leaf).endsWith(m.value);
    case 'wildcard':
      return typeof leaf === 'string' && matchGlob(m.glob, leaf);
    case 'numeric':
      return typeof leaf === 'number' && withinBounds(m, leaf);
    case 'cidr':
      return typeof leaf === 'string' && matchCidr(m.range, leaf);
    case 'exists':
      return true;
    case 'anything-but':
      if (m.stringsOnly && typeof leaf !== 'string') return false;
      return !m.inner.some((inner) => matchesLeaf(inner, leaf));
  }
}
