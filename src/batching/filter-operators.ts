/**
 * Validation and compilation of a field's value list: plain values and the operator objects
 * (`prefix`, `numeric`, `anything-but`, …). Every problem is recorded with the field's path, the
 * value received and what is allowed; compilation goes on after a problem so all are reported.
 */
import type { ValueMatcher } from './filter-types.ts';
import { parseCidr, parseGlob } from './filter-values.ts';

const OPERATORS = [
  'prefix',
  'suffix',
  'equals-ignore-case',
  'anything-but',
  'numeric',
  'exists',
  'wildcard',
  'cidr',
] as const;
const ANYTHING_BUT_OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard'] as const;
const NUMERIC_USAGE =
  'numeric expects [op, number] with op one of "=", "<", "<=", ">", ">=", or a range [">"|">=", number, "<"|"<=", number]';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON text of a value for messages, shortened so one bad value cannot flood a log line. */
export function show(value: Json | undefined): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Collects problems as `path: message` (no prefix at the pattern's root). */
export class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(path === '' ? message : `${path}: ${message}`);
  }
}

export function compileValueList(values: Json[], path: string, problems: Problems): ValueMatcher[] {
  if (values.length === 0) {
    problems.add(path, 'empty arrays are not allowed; list at least one value to match');
  }
  const matchers: ValueMatcher[] = [];
  for (const value of values) {
    const matcher = compileValue(value, path, problems);
    if (matcher !== undefined) matchers.push(matcher);
  }
  return matchers;
}

function compileValue(value: Json, path: string, problems: Problems): ValueMatcher | undefined {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      problems.add(path, `number out of range: ${show(value)}`);
      return undefined;
    }
    return { op: 'equals', value };
  }
  if (Array.isArray(value)) {
    problems.add(
      path,
      `a value list cannot contain an array, got ${show(value)}; allowed: string, number, true, false, null or an operator object`,
    );
    return undefined;
  }
  const keys = Object.keys(value);
  const op = keys[0];
  if (keys.length !== 1 || op === undefined) {
    problems.add(
      path,
      `an operator object must have exactly one key (one of ${OPERATORS.join(', ')}), got ${show(value)}`,
    );
    return undefined;
  }
  return compileOperator(op, value[op], path, problems);
}

function compileOperator(
  op: string,
  arg: Json | undefined,
  path: string,
  problems: Problems,
): ValueMatcher | undefined {
  switch (op) {
    case 'prefix':
    case 'suffix': {
      if (typeof arg === 'string') return { op, value: arg, ignoreCase: false };
      const nested = isObject(arg) ? arg['equals-ignore-case'] : undefined;
      if (isObject(arg) && Object.keys(arg).length === 1 && typeof nested === 'string') {
        return { op, value: nested.toLowerCase(), ignoreCase: true };
      }
      problems.add(
        path,
        `${op} expects a string or {"equals-ignore-case": string}, got ${show(arg)}`,
      );
      return undefined;
    }
    case 'equals-ignore-case':
      if (typeof arg === 'string') return { op, lower: arg.toLowerCase() };
      problems.add(path, `equals-ignore-case expects a string, got ${show(arg)}`);
      return undefined;
    case 'wildcard':
      return compileWildcard(arg, path, problems);
    case 'cidr': {
      if (typeof arg !== 'string') {
        problems.add(path, `cidr expects a string like "10.0.0.0/24", got ${show(arg)}`);
        return undefined;
      }
      const range = parseCidr(arg);
      if (typeof range === 'string') {
        problems.add(path, `cidr ${show(arg)} is invalid: ${range}`);
        return undefined;
      }
      return { op, range };
    }
    case 'exists':
      if (typeof arg === 'boolean') return { op, value: arg };
      problems.add(path, `exists expects true or false, got ${show(arg)}`);
      return undefined;
    case 'numeric':
      return compileNumeric(arg, path, problems);
    case 'anything-but':
      return compileAnythingBut(arg, path, problems);
    default:
      problems.add(path, `unknown operator "${op}"; allowed: ${OPERATORS.join(', ')}`);
      return undefined;
  }
}

function compileWildcard(
  arg: Json | undefined,
  path: string,
  problems: Problems,
): Extract<ValueMatcher, { op: 'wildcard' }> | undefined {
  if (typeof arg !== 'string') {
    problems.add(path, `wildcard expects a string like "a*b", got ${show(arg)}`);
    return undefined;
  }
  const glob = parseGlob(arg);
  if (typeof glob === 'string') {
    problems.add(path, `wildcard ${show(arg)} is invalid: ${glob}`);
    return undefined;
  }
  return { op: 'wildcard', glob };
}

const LOWER_OPS: Record<string, boolean> = { '>': false, '>=': true };
const UPPER_OPS: Record<string, boolean> = { '<': false, '<=': true };

function compileNumeric(
  arg: Json | undefined,
  path: string,
  problems: Problems,
): ValueMatcher | undefined {
  const bad = (why = '') => {
    problems.add(path, `${NUMERIC_USAGE}${why}, got ${show(arg)}`);
    return undefined;
  };
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4)) return bad();
  const [op1, n1, op2, n2] = arg;
  if (typeof op1 !== 'string' || typeof n1 !== 'number' || !Number.isFinite(n1)) return bad();
  if (arg.length === 2) {
    if (op1 === '=')
      return {
        op: 'numeric',
        lower: { value: n1, inclusive: true },
        upper: { value: n1, inclusive: true },
      };
    if (op1 in LOWER_OPS)
      return { op: 'numeric', lower: { value: n1, inclusive: LOWER_OPS[op1] ?? false } };
    if (op1 in UPPER_OPS)
      return { op: 'numeric', upper: { value: n1, inclusive: UPPER_OPS[op1] ?? false } };
    return bad();
  }
  if (typeof op2 !== 'string' || typeof n2 !== 'number' || !Number.isFinite(n2)) return bad();
  if (!(op1 in LOWER_OPS) || !(op2 in UPPER_OPS))
    return bad(' (a range is a lower bound then an upper bound)');
  if (!(n1 < n2)) return bad(' (the lower bound must be less than the upper bound)');
  return {
    op: 'numeric',
    lower: { value: n1, inclusive: LOWER_OPS[op1] ?? false },
    upper: { value: n2, inclusive: UPPER_OPS[op2] ?? false },
  };
}

const ANYTHING_BUT_USAGE =
  'anything-but expects a string, a number, a non-empty array of all strings or all numbers, or an object with one of ' +
  ANYTHING_BUT_OPERATORS.join(', ');

/**
 * anything-but's grammar in the order EventBridge documents it: a scalar, a list of scalars, or an
 * object naming one inner operator; each form is checked by its own function below.
 */
function compileAnythingBut(
  arg: Json | undefined,
  path: string,
  problems: Problems,
): ValueMatcher | undefined {
  if (typeof arg === 'string' || (typeof arg === 'number' && Number.isFinite(arg))) {
    return { op: 'anything-but', inner: [{ op: 'equals', value: arg }], stringsOnly: false };
  }
  if (Array.isArray(arg)) return compileAnythingButValues(arg, path, problems);
  const keys = isObject(arg) ? Object.keys(arg) : [];
  const innerOp = keys[0];
  if (!isObject(arg) || keys.length !== 1 || innerOp === undefined) {
    problems.add(path, `${ANYTHING_BUT_USAGE}, got ${show(arg)}`);
    return undefined;
  }
  const innerArg = arg[innerOp];
  switch (innerOp) {
    case 'prefix':
    case 'suffix':
      return compileAnythingButAffix(innerOp, innerArg, path, problems);
    case 'equals-ignore-case':
    case 'wildcard':
      return compileAnythingButStrings(innerOp, innerArg, path, problems);
    default:
      problems.add(path, `${ANYTHING_BUT_USAGE}, got ${show(arg)}`);
      return undefined;
  }
}

/** `{"anything-but": ["a", "b"]}` or `[1, 2]`: all strings or all numbers, never mixed or empty. */
function compileAnythingButValues(
  arg: Json[],
  path: string,
  problems: Problems,
): ValueMatcher | undefined {
  const allStrings = arg.every((v) => typeof v === 'string');
  const allNumbers = arg.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (arg.length === 0 || (!allStrings && !allNumbers)) {
    problems.add(path, `${ANYTHING_BUT_USAGE}, got ${show(arg)}`);
    return undefined;
  }
  const inner = arg.map((value) => ({ op: 'equals', value: value as string | number }) as const);
  return { op: 'anything-but', inner, stringsOnly: false };
}

/** `{"anything-but": {"prefix": "x"}}` (or suffix). */
function compileAnythingButAffix(
  innerOp: 'prefix' | 'suffix',
  innerArg: Json | undefined,
  path: string,
  problems: Problems,
): ValueMatcher | undefined {
  // An empty prefix/suffix would exclude every string: EventBridge refuses it, and so do we.
  if (typeof innerArg === 'string' && innerArg !== '') {
    return {
      op: 'anything-but',
      inner: [{ op: innerOp, value: innerArg, ignoreCase: false }],
      stringsOnly: true,
    };
  }
  problems.add(path, `anything-but ${innerOp} expects a non-empty string, got ${show(innerArg)}`);
  return undefined;
}

/** `{"anything-but": {"equals-ignore-case": …}}` or wildcard: one string or a non-empty list. */
function compileAnythingButStrings(
  innerOp: 'equals-ignore-case' | 'wildcard',
  innerArg: Json | undefined,
  path: string,
  problems: Problems,
): ValueMatcher | undefined {
  const list = Array.isArray(innerArg) ? innerArg : [innerArg];
  if (list.length === 0 || !list.every((v) => typeof v === 'string')) {
    problems.add(
      path,
      `anything-but ${innerOp} expects a string or a non-empty array of strings, got ${show(innerArg)}`,
    );
    return undefined;
  }
  const inner: ValueMatcher[] = [];
  for (const text of list as string[]) {
    if (innerOp === 'equals-ignore-case') {
      inner.push({ op: innerOp, lower: text.toLowerCase() });
    } else {
      const matcher = compileWildcard(text, path, problems);
      if (matcher === undefined) return undefined;
      inner.push(matcher);
    }
  }
  return { op: 'anything-but', inner, stringsOnly: true };
}
