import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/errors.ts';
import { compileFilterCriteria, validateFilterPattern } from '../../src/batching/filter-pattern.ts';

function problemsOf(pattern: unknown): string[] {
  return validateFilterPattern(typeof pattern === 'string' ? pattern : JSON.stringify(pattern));
}

describe('validateFilterPattern accepts the whole grammar', () => {
  it.each([
    ['exact values', { a: ['x', 1, 2.5, true, false, null, ''] }],
    ['nested', { body: { a: { b: ['x'] } } }],
    ['prefix / suffix', { a: [{ prefix: 'x' }, { suffix: '' }] }],
    ['prefix / suffix ignore case', { a: [{ prefix: { 'equals-ignore-case': 'X' } }] }],
    ['equals-ignore-case', { a: [{ 'equals-ignore-case': 'X' }] }],
    ['anything-but forms', { a: [{ 'anything-but': 'x' }, { 'anything-but': 5 }] }],
    ['anything-but lists', { a: [{ 'anything-but': ['x', 'y'] }, { 'anything-but': [1, 2] }] }],
    ['anything-but prefix', { a: [{ 'anything-but': { prefix: 'x' } }] }],
    ['anything-but suffix', { a: [{ 'anything-but': { suffix: 'x' } }] }],
    ['anything-but ignore case', { a: [{ 'anything-but': { 'equals-ignore-case': ['x'] } }] }],
    ['anything-but wildcard', { a: [{ 'anything-but': { wildcard: 'x*' } }] }],
    ['numeric', { a: [{ numeric: ['=', 1] }, { numeric: ['>=', 0, '<', 1e3] }] }],
    ['exists', { a: [{ exists: true }], b: [{ exists: false }] }],
    ['wildcard', { a: [{ wildcard: 'a*b\\*c\\\\' }] }],
    ['cidr', { a: [{ cidr: '10.0.0.0/8' }, { cidr: '2001:db8::/32' }] }],
    ['$or', { $or: [{ a: ['x'] }, { b: { $or: [{ c: ['y'] }, { d: ['z'] }] } }] }],
  ])('%s', (_name, pattern) => {
    expect(problemsOf(pattern)).toEqual([]);
  });
});

describe('validateFilterPattern names the path, the value and what is allowed', () => {
  it.each([
    [
      'numeric with a non-number',
      { body: { price: [{ numeric: ['<', 'x'] }] } },
      /^body\.price: numeric expects \[op, number\].*got \["<","x"\]$/,
    ],
    ['numeric unknown op', { p: [{ numeric: ['!=', 1] }] }, /^p: numeric expects .*got \["!=",1\]/],
    ['numeric not an array', { p: [{ numeric: 5 }] }, /^p: numeric expects .*got 5$/],
    ['numeric too long', { p: [{ numeric: ['>', 1, '<', 2, '<', 3] }] }, /^p: numeric expects/],
    ['numeric = in a range', { p: [{ numeric: ['=', 1, '<', 2] }] }, /lower bound then an upper/],
    ['numeric upper first', { p: [{ numeric: ['<', 5, '>', 1] }] }, /lower bound then an upper/],
    ['numeric empty range', { p: [{ numeric: ['>', 5, '<', 5] }] }, /less than the upper bound/],
    ['leaf not an array', { a: 'x' }, /^a: expected an array of values \(like \["x"\]\).*got "x"$/],
    ['leaf number not an array', { a: 5 }, /^a: expected an array .*got 5$/],
    ['empty value array', { a: [] }, /^a: empty arrays are not allowed/],
    ['empty object', { a: {} }, /^a: empty objects are not allowed/],
    ['nested array', { a: [['x']] }, /^a: a value list cannot contain an array/],
    [
      'unknown operator',
      { a: [{ regex: '.*' }] },
      /^a: unknown operator "regex"; allowed: prefix,/,
    ],
    ['two operators in one object', { a: [{ prefix: 'a', suffix: 'b' }] }, /exactly one key/],
    ['prefix not a string', { a: [{ prefix: 5 }] }, /^a: prefix expects a string .*got 5$/],
    ['suffix bad object', { a: [{ suffix: { x: 'y' } }] }, /^a: suffix expects/],
    ['equals-ignore-case array', { a: [{ 'equals-ignore-case': ['x'] }] }, /expects a string/],
    [
      'exists not boolean',
      { a: [{ exists: 'yes' }] },
      /^a: exists expects true or false, got "yes"$/,
    ],
    ['wildcard **', { a: [{ wildcard: 'a**b' }] }, /^a: wildcard "a\*\*b" is invalid: consecutive/],
    ['wildcard bad escape', { a: [{ wildcard: 'a\\b' }] }, /a backslash may only escape/],
    ['wildcard trailing backslash', { a: [{ wildcard: 'a\\' }] }, /a backslash may only escape/],
    [
      'cidr no prefix',
      { a: [{ cidr: '10.0.0.1' }] },
      /^a: cidr "10.0.0.1" is invalid: expected an/,
    ],
    ['cidr bad address', { a: [{ cidr: '10.0.0.256/8' }] }, /not an IPv4 or IPv6 address/],
    ['cidr bad length', { a: [{ cidr: '10.0.0.0/33' }] }, /prefix length must be an integer 0–32/],
    ['cidr bad IPv6', { a: [{ cidr: '2001:db8:::/32' }] }, /not an IPv4 or IPv6 address/],
    [
      'anything-but mixed list',
      { a: [{ 'anything-but': ['x', 1] }] },
      /all strings or all numbers/,
    ],
    ['anything-but null', { a: [{ 'anything-but': null }] }, /^a: anything-but expects/],
    ['anything-but empty list', { a: [{ 'anything-but': [] }] }, /^a: anything-but expects/],
    ['anything-but empty prefix', { a: [{ 'anything-but': { prefix: '' } }] }, /non-empty string/],
    ['anything-but numeric', { a: [{ 'anything-but': { numeric: ['>', 1] } }] }, /one of prefix/],
    ['anything-but wildcard **', { a: [{ 'anything-but': { wildcard: '**' } }] }, /consecutive/],
    [
      '$or not an array',
      { $or: { a: ['x'] } },
      /^\$or: \$or expects an array of at least 2 objects/,
    ],
    ['$or one branch', { $or: [{ a: ['x'] }] }, /at least 2 objects/],
    ['$or branch path', { $or: [{ a: ['x'] }, { b: 'y' }] }, /^\$or\[1\]\.b: expected an array/],
    ['quoted path segments', { 'a b': { c: 'x' } }, /^"a b"\.c: /],
    ['not an object', ['x'], /^a pattern must be a JSON object/],
    ['empty pattern', {}, /^empty objects are not allowed/],
  ])('%s', (_name, pattern, message) => {
    const problems = problemsOf(pattern);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it.each([
    ['{"body": {"a": ["x"]', /^invalid JSON: .* at position 20 \(line 1 column 21\)$/],
    ['{"a": x}', /^invalid JSON: unexpected "x" at position 6 \(line 1 column 7\)$/],
    [
      '{\n  "a": ["x",\n  ]\n}',
      /^invalid JSON: unexpected "]" at position 17 \(line 3 column 3\)$/,
    ],
    ['{a: 1}', /^invalid JSON: .* at position 1 \(line 1 column 2\)$/],
  ])('reports the JSON syntax error in %j with its position', (text, message) => {
    expect(problemsOf(text)).toEqual([expect.stringMatching(message)]);
  });

  it('reports every problem, not just the first', () => {
    expect(problemsOf({ a: 'x', b: [{ exists: 1 }], c: { d: [] } })).toEqual([
      expect.stringMatching(/^a: /),
      expect.stringMatching(/^b: /),
      expect.stringMatching(/^c\.d: /),
    ]);
  });

  it('rejects a pattern over 4096 characters', () => {
    const long = JSON.stringify({ a: ['x'.repeat(4096)] });
    expect(problemsOf(long)).toEqual([expect.stringMatching(/at most 4096/)]);
  });
});

describe('compileFilterCriteria', () => {
  it('compiles an empty list to "everything passes"', () => {
    expect(compileFilterCriteria([]).patterns).toEqual([]);
  });

  it('throws CONFIG_INVALID naming the pattern index', () => {
    let caught: unknown;
    try {
      compileFilterCriteria([
        '{"body": {"a": ["x"]}}',
        '{"body": {"price": [{"numeric": ["<", "x"]}]}}',
      ]);
    } catch (err) {
      caught = err;
    }
    expect(isSluiceError(caught, 'CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toMatch(
      /^filters\[1\]\.pattern: body\.price: numeric expects \[op, number\].*got \["<","x"\]$/,
    );
  });

  it('uses the caller-supplied location and lists every problem in the context', () => {
    let caught: unknown;
    try {
      compileFilterCriteria(['nope', '{"a": "x"}'], 'mappings[2].filterCriteria.filters');
    } catch (err) {
      caught = err;
    }
    expect(isSluiceError(caught, 'CONFIG_INVALID')).toBe(true);
    const problems = (caught as { context: { problems: string[] } }).context.problems;
    expect(problems).toEqual([
      expect.stringMatching(/^mappings\[2\]\.filterCriteria\.filters\[0\]\.pattern: invalid JSON/),
      expect.stringMatching(/^mappings\[2\]\.filterCriteria\.filters\[1\]\.pattern: a: expected/),
    ]);
  });

  it('rejects more than 10 patterns', () => {
    const patterns = Array.from({ length: 11 }, () => '{"a": ["x"]}');
    expect(() => compileFilterCriteria(patterns)).toThrow(/filters: 11 patterns; at most 10/);
  });

  it('keeps each pattern index', () => {
    const compiled = compileFilterCriteria(['{"a": ["x"]}', '{"b": ["y"]}']);
    expect(compiled.patterns.map((p) => p.index)).toEqual([0, 1]);
  });
});
