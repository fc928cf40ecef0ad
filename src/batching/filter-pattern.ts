/**
 * Parses, validates and compiles EventBridge-style filter patterns (`FilterCriteria.Filters[].Pattern`).
 *
 * Validation walks the whole pattern and collects every problem (path inside the pattern, the
 * value received and what is allowed) instead of stopping at the first, so a config file can be
 * fixed in one go. Compilation turns the JSON into a small tree of matchers so a record is matched
 * without ever re-reading the pattern text.
 */
import { FILTER_PATTERN_MAX_CHARS, FILTERS_MAX } from './filter-types.ts';
import { SluiceError } from '../errors.ts';
import { type Json, Problems, compileValueList, isObject, show } from './filter-operators.ts';
import type { CompiledFilters, CompiledPattern, FieldRule, PatternNode } from './filter-types.ts';

export type {
  CompiledFilters,
  CompiledPattern,
  FieldRule,
  NumericBound,
  PatternNode,
  ValueMatcher,
} from './filter-types.ts';

function childPath(path: string, key: string): string {
  const segment = /^[A-Za-z_$][\w$-]*$/.test(key) ? key : JSON.stringify(key);
  if (path === '') return segment;
  return segment.startsWith('"') ? `${path}[${segment}]` : `${path}.${segment}`;
}

function compileNode(
  value: { [key: string]: Json },
  path: string,
  problems: Problems,
): PatternNode {
  const fields: FieldRule[] = [];
  const anyOf: PatternNode[][] = [];
  const keys = Object.keys(value);
  if (keys.length === 0) problems.add(path, 'empty objects are not allowed');
  for (const key of keys) {
    const child = value[key];
    const here = childPath(path, key);
    if (key === '$or') {
      const branches = compileOr(child, here, problems);
      if (branches !== undefined) anyOf.push(branches);
    } else if (Array.isArray(child)) {
      fields.push({ key, kind: 'values', matchers: compileValueList(child, here, problems) });
    } else if (isObject(child)) {
      fields.push({ key, kind: 'object', node: compileNode(child, here, problems) });
    } else {
      problems.add(
        here,
        `expected an array of values (like ${show([child ?? null])}) or a nested object, got ${show(child)}`,
      );
    }
  }
  return { fields, anyOf };
}

function compileOr(
  value: Json | undefined,
  path: string,
  problems: Problems,
): PatternNode[] | undefined {
  if (!Array.isArray(value) || value.length < 2 || !value.every(isObject)) {
    problems.add(path, `$or expects an array of at least 2 objects, got ${show(value)}`);
    return undefined;
  }
  return value.map((branch, i) => compileNode(branch, `${path}[${i}]`, problems));
}

/** Where V8 says a parse failed, or undefined when its message does not say. */
function errorPosition(message: string): number | undefined {
  const match = /at position (\d+)/.exec(message);
  return match === null ? undefined : Number(match[1]);
}

/**
 * A JSON syntax error with its position. Some V8 messages carry none ("Unexpected token 'x', "<the
 * whole text>" is not valid JSON"), so we find it: the longest prefix that is still valid-but-
 * incomplete JSON ends where the error is. Config-time only, a dozen parses of ≤ 4096 characters.
 */
function describeJsonError(text: string, err: Error): string {
  if (errorPosition(err.message) !== undefined) return `invalid JSON: ${err.message}`;
  const viable = (length: number): boolean => {
    try {
      JSON.parse(text.slice(0, length));
      return true;
    } catch (e) {
      const message = (e as Error).message;
      return message.startsWith('Unexpected end') || (errorPosition(message) ?? -1) >= length;
    }
  };
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (viable(mid)) low = mid;
    else high = mid - 1;
  }
  const before = text.slice(0, low).split('\n');
  const where = `at position ${low} (line ${before.length} column ${(before.at(-1) ?? '').length + 1})`;
  const what =
    low >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[low])}`;
  return `invalid JSON: ${what} ${where}`;
}

/** Parses and validates one pattern; `root` is set only when there are no problems. */
function parsePattern(text: string): { root?: PatternNode; problems: string[] } {
  const problems = new Problems();
  if (text.length > FILTER_PATTERN_MAX_CHARS) {
    problems.add(
      '',
      `pattern is ${text.length} characters; at most ${FILTER_PATTERN_MAX_CHARS} allowed`,
    );
    return { problems: problems.list };
  }
  let parsed: Json;
  try {
    parsed = JSON.parse(text) as Json;
  } catch (err) {
    problems.add('', describeJsonError(text, err as Error));
    return { problems: problems.list };
  }
  if (!isObject(parsed)) {
    problems.add(
      '',
      `a pattern must be a JSON object like {"body": {"field": ["value"]}}, got ${show(parsed)}`,
    );
    return { problems: problems.list };
  }
  const root = compileNode(parsed, '', problems);
  return problems.list.length === 0 ? { root, problems: [] } : { problems: problems.list };
}

/**
 * Every problem of one pattern, each as `path: message` (path inside the pattern, omitted at the
 * root). Empty when the pattern is valid. Never throws, so a config loader can add its own
 * file/line to each problem.
 */
export function validateFilterPattern(pattern: string): string[] {
  return parsePattern(pattern).problems;
}

/**
 * Validates and compiles a mapping's filter patterns (JSON strings). Throws `SluiceError`
 * `CONFIG_INVALID` listing every problem, each prefixed `<where>[<i>].pattern: `; `where`
 * defaults to `filters`. An empty list compiles to "everything passes".
 */
export function compileFilterCriteria(
  patterns: readonly string[],
  where = 'filters',
): CompiledFilters {
  const all: string[] = [];
  if (patterns.length > FILTERS_MAX) {
    all.push(`${where}: ${patterns.length} patterns; at most ${FILTERS_MAX} allowed`);
  }
  const compiled: CompiledPattern[] = [];
  patterns.forEach((text, index) => {
    const { root, problems } = parsePattern(text);
    for (const problem of problems) all.push(`${where}[${index}].pattern: ${problem}`);
    if (root !== undefined) compiled.push({ index, root });
  });
  if (all.length > 0) {
    throw new SluiceError('CONFIG_INVALID', all.join('\n'), { context: { where, problems: all } });
  }
  return { patterns: compiled };
}
