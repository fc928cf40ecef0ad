import { describe, expect, it } from 'vitest';
import { compileFilterCriteria } from '../../src/batching/filter-pattern.ts';
import { matchesNode } from '../../src/batching/filter-match.ts';

/** Compiles one pattern (JSON text, or an object for readability) and matches it against `event`. */
function matches(pattern: unknown, event: unknown): boolean {
  const text = typeof pattern === 'string' ? pattern : JSON.stringify(pattern);
  const [compiled] = compileFilterCriteria([text]).patterns;
  if (compiled === undefined) throw new Error('pattern did not compile');
  return matchesNode(compiled.root, event);
}

type Case = [name: string, pattern: unknown, event: unknown, expected: boolean];

function table(cases: Case[]): void {
  it.each(cases)('%s', (_name, pattern, event, expected) => {
    expect(matches(pattern, event)).toBe(expected);
  });
}

describe('exact values, null and empty (AWS examples)', () => {
  table([
    ['string equals', { Name: ['Alice'] }, { Name: 'Alice' }, true],
    ['string is case-sensitive', { Name: ['Alice'] }, { Name: 'alice' }, false],
    ['string is exact (no substring)', { Name: ['Alice'] }, { Name: 'Alice B' }, false],
    ['values in one list are ORed', { P: ['Credit', 'Debit'] }, { P: 'Debit' }, true],
    ['value not in list', { P: ['Credit', 'Debit'] }, { P: 'Cash' }, false],
    ['null matches null', { UserID: [null] }, { UserID: null }, true],
    ['null does not match absent', { UserID: [null] }, {}, false],
    ['null does not match "null"', { UserID: [null] }, { UserID: 'null' }, false],
    ['empty string matches ""', { LastName: [''] }, { LastName: '' }, true],
    ['empty string does not match null', { LastName: [''] }, { LastName: null }, false],
    ['number equals', { n: [5] }, { n: 5 }, true],
    ['5 matches 5.0', { n: [5] }, JSON.parse('{"n": 5.0}'), true],
    ['5.0 in pattern matches 5', JSON.parse('{"n": [5.0]}'), { n: 5 }, true],
    ['1e2 matches 100', JSON.parse('{"n": [1e2]}'), { n: 100 }, true],
    ['number does not match its string', { n: [5] }, { n: '5' }, false],
    ['string does not match the number', { n: ['5'] }, { n: 5 }, false],
    ['boolean true', { b: [true] }, { b: true }, true],
    ['boolean is not the string', { b: [true] }, { b: 'true' }, false],
    ['field must be present', { a: ['x'] }, { b: 'x' }, false],
    ['other fields are ignored', { a: ['x'] }, { a: 'x', b: 'y' }, true],
  ]);
});

describe('and / or', () => {
  table([
    ['separate keys are ANDed: both', { A: ['x'], B: ['y'] }, { A: 'x', B: 'y' }, true],
    ['separate keys are ANDed: one', { A: ['x'], B: ['y'] }, { A: 'x', B: 'z' }, false],
    ['$or first branch', { $or: [{ A: ['x'] }, { B: ['y'] }] }, { A: 'x' }, true],
    ['$or second branch', { $or: [{ A: ['x'] }, { B: ['y'] }] }, { B: 'y' }, true],
    ['$or no branch', { $or: [{ A: ['x'] }, { B: ['y'] }] }, { A: 'y', B: 'x' }, false],
    [
      '$or ANDed with a sibling field',
      { S: ['s'], $or: [{ A: ['x'] }, { B: ['y'] }] },
      { A: 'x' },
      false,
    ],
    [
      '$or nested in an object',
      { detail: { $or: [{ c: [{ numeric: ['>', 0] }] }, { d: ['z'] }] } },
      { detail: { d: 'z' } },
      true,
    ],
    [
      '$or inside $or',
      { $or: [{ a: ['1'] }, { b: ['2'], $or: [{ c: ['3'] }, { d: ['4'] }] }] },
      { b: '2', d: '4' },
      true,
    ],
    [
      '$or inside $or (inner fails)',
      { $or: [{ a: ['1'] }, { b: ['2'], $or: [{ c: ['3'] }, { d: ['4'] }] }] },
      { b: '2', d: '5' },
      false,
    ],
  ]);
});

describe('nesting and arrays', () => {
  const event = {
    detail: {
      state: 'running',
      tags: ['a', 'b'],
      items: [
        { k: 1, v: 'x' },
        { k: 2, v: 'y' },
      ],
    },
  };
  table([
    ['nested object', { detail: { state: ['running'] } }, event, true],
    ['nested object no match', { detail: { state: ['stopped'] } }, event, false],
    ['nested pattern vs scalar field', { detail: { state: { x: ['y'] } } }, event, false],
    ['event array: any element', { detail: { tags: ['b', 'z'] } }, event, true],
    ['event array: no element', { detail: { tags: ['z'] } }, event, false],
    ['array of objects', { detail: { items: { v: ['y'] } } }, event, true],
    ['array of objects: same element', { detail: { items: { k: [2], v: ['y'] } } }, event, true],
    [
      'array of objects: conditions must hold in one element',
      { detail: { items: { k: [1], v: ['y'] } } },
      event,
      false,
    ],
    ['nested arrays flatten', { a: ['deep'] }, { a: [['x', ['deep']]] }, true],
    ['value list vs object field', { detail: ['running'] }, event, false],
    ['numeric in an event array', { a: [{ numeric: ['>', 10] }] }, { a: [1, 20] }, true],
  ]);
});

describe('prefix / suffix / equals-ignore-case', () => {
  table([
    ['prefix', { r: [{ prefix: 'us-' }] }, { r: 'us-east-1' }, true],
    ['prefix no match', { r: [{ prefix: 'us-' }] }, { r: 'eu-west-1' }, false],
    ['prefix is case-sensitive', { r: [{ prefix: 'us-' }] }, { r: 'US-east-1' }, false],
    ['prefix only on strings', { n: [{ prefix: '1' }] }, { n: 12 }, false],
    ['suffix', { f: [{ suffix: '.png' }] }, { f: 'image.png' }, true],
    ['suffix no match', { f: [{ suffix: '.png' }] }, { f: 'image.jpg' }, false],
    ['equals-ignore-case', { n: [{ 'equals-ignore-case': 'alice' }] }, { n: 'ALICE' }, true],
    [
      'equals-ignore-case no match',
      { n: [{ 'equals-ignore-case': 'alice' }] },
      { n: 'alicia' },
      false,
    ],
    ['equals-ignore-case only on strings', { n: [{ 'equals-ignore-case': '1' }] }, { n: 1 }, false],
    [
      'prefix equals-ignore-case',
      { r: [{ prefix: { 'equals-ignore-case': 'US-' } }] },
      { r: 'us-east-1' },
      true,
    ],
    [
      'prefix equals-ignore-case no match',
      { r: [{ prefix: { 'equals-ignore-case': 'US-' } }] },
      { r: 'eu-us-1' },
      false,
    ],
    [
      'suffix equals-ignore-case',
      { f: [{ suffix: { 'equals-ignore-case': '.PNG' } }] },
      { f: 'a.png' },
      true,
    ],
  ]);
});

describe('anything-but', () => {
  table([
    ['string: other value', { w: [{ 'anything-but': 'Raining' }] }, { w: 'Sunny' }, true],
    ['string: that value', { w: [{ 'anything-but': 'Raining' }] }, { w: 'Raining' }, false],
    ['list: other value', { w: [{ 'anything-but': ['Raining', 'Snow'] }] }, { w: 'Sun' }, true],
    ['list: listed value', { w: [{ 'anything-but': ['Raining', 'Snow'] }] }, { w: 'Snow' }, false],
    ['numbers: other', { n: [{ 'anything-but': [100, 200] }] }, { n: 150 }, true],
    ['numbers: listed (numerically)', { n: [{ 'anything-but': [100, 200] }] }, { n: 100.0 }, false],
    ['absent field does not match', { w: [{ 'anything-but': 'Raining' }] }, {}, false],
    ['event array: any other element', { w: [{ 'anything-but': 'a' }] }, { w: ['a', 'b'] }, true],
    ['event array: only excluded', { w: [{ 'anything-but': 'a' }] }, { w: ['a', 'a'] }, false],
    ['prefix: other', { s: [{ 'anything-but': { prefix: 'init' } }] }, { s: 'running' }, true],
    ['prefix: excluded', { s: [{ 'anything-but': { prefix: 'init' } }] }, { s: 'initial' }, false],
    ['prefix: non-string never', { s: [{ 'anything-but': { prefix: 'init' } }] }, { s: 5 }, false],
    ['suffix: other', { f: [{ 'anything-but': { suffix: '.txt' } }] }, { f: 'a.png' }, true],
    ['suffix: excluded', { f: [{ 'anything-but': { suffix: '.txt' } }] }, { f: 'a.txt' }, false],
    [
      'equals-ignore-case: excluded',
      { s: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'OVERLOADED'] } }] },
      { s: 'overloaded' },
      false,
    ],
    [
      'equals-ignore-case: other',
      { s: [{ 'anything-but': { 'equals-ignore-case': 'Stopped' } }] },
      { s: 'running' },
      true,
    ],
    [
      'wildcard: excluded',
      { s: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
      { s: '/usr/lib/x' },
      false,
    ],
    [
      'wildcard list: other',
      { s: [{ 'anything-but': { wildcard: ['*/lib/*', '*.tmp'] } }] },
      { s: '/usr/bin/x' },
      true,
    ],
  ]);
});

describe('numeric', () => {
  table([
    ['= match', { p: [{ numeric: ['=', 100] }] }, { p: 100 }, true],
    ['= no match', { p: [{ numeric: ['=', 100] }] }, { p: 100.5 }, false],
    ['> match', { p: [{ numeric: ['>', 10] }] }, { p: 11 }, true],
    ['> boundary', { p: [{ numeric: ['>', 10] }] }, { p: 10 }, false],
    ['>= boundary', { p: [{ numeric: ['>=', 10] }] }, { p: 10 }, true],
    ['< match', { p: [{ numeric: ['<', 10] }] }, { p: -3 }, true],
    ['< boundary', { p: [{ numeric: ['<', 10] }] }, { p: 10 }, false],
    ['<= boundary', { p: [{ numeric: ['<=', 10] }] }, { p: 10 }, true],
    ['range inside', { p: [{ numeric: ['>', 10, '<=', 20] }] }, { p: 20 }, true],
    ['range low boundary', { p: [{ numeric: ['>', 10, '<=', 20] }] }, { p: 10 }, false],
    ['range above', { p: [{ numeric: ['>', 10, '<=', 20] }] }, { p: 20.5 }, false],
    ['range >= <', { p: [{ numeric: ['>=', 0, '<', 1] }] }, { p: 0 }, true],
    ['only numbers', { p: [{ numeric: ['>', 10] }] }, { p: '11' }, false],
    ['absent', { p: [{ numeric: ['>', 10] }] }, {}, false],
  ]);
});

describe('exists', () => {
  table([
    ['true: present', { c: [{ exists: true }] }, { c: 1 }, true],
    ['true: null counts as present', { c: [{ exists: true }] }, { c: null }, true],
    ['true: absent', { c: [{ exists: true }] }, {}, false],
    ['false: absent', { c: [{ exists: false }] }, { d: 1 }, true],
    ['false: present', { c: [{ exists: false }] }, { c: 'x' }, false],
    ['true: empty array is no value', { c: [{ exists: true }] }, { c: [] }, false],
    ['false: object is not a leaf', { c: [{ exists: false }] }, { c: { c1: 100 } }, true],
    ['true: object is not a leaf', { c: [{ exists: true }] }, { c: { c1: 100 } }, false],
    ['false: absent parent', { detail: { c: [{ exists: false }] } }, {}, true],
    ['false: in nested object', { detail: { c: [{ exists: false }] } }, { detail: { d: 1 } }, true],
    ['false combined with a value', { c: [{ exists: false }, 'x'] }, { c: 'x' }, true],
  ]);
});

describe('wildcard', () => {
  table([
    ['middle', { s: [{ wildcard: 'Simple*Service' }] }, { s: 'Simple Queue Service' }, true],
    ['middle empty run', { s: [{ wildcard: 'Simple*Service' }] }, { s: 'SimpleService' }, true],
    ['middle no match', { s: [{ wildcard: 'Simple*Service' }] }, { s: 'Simple Queue' }, false],
    ['no star is exact', { s: [{ wildcard: 'abc' }] }, { s: 'abcd' }, false],
    ['leading and trailing', { s: [{ wildcard: '*/lib/*' }] }, { s: 'a/lib/b' }, true],
    ['several stars', { s: [{ wildcard: 'a*b*c' }] }, { s: 'a-b-b-c' }, true],
    ['several stars no match', { s: [{ wildcard: 'a*b*c' }] }, { s: 'a-c-b' }, false],
    ['overlap at the ends', { s: [{ wildcard: 'ab*ba' }] }, { s: 'aba' }, false],
    ['escaped star is literal', { s: [{ wildcard: 'a\\*b' }] }, { s: 'a*b' }, true],
    ['escaped star is not a wildcard', { s: [{ wildcard: 'a\\*b' }] }, { s: 'axb' }, false],
    ['escaped backslash', { s: [{ wildcard: 'a\\\\*' }] }, { s: 'a\\zz' }, true],
    ['only strings', { s: [{ wildcard: '1*' }] }, { s: 12 }, false],
  ]);
  it('stays fast on a hostile input', () => {
    const start = performance.now();
    expect(matches({ s: [{ wildcard: '*a*a*a*a*a*a*a*a*b' }] }, { s: 'a'.repeat(20_000) })).toBe(
      false,
    );
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('cidr', () => {
  table([
    ['IPv4 inside', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.0.255' }, true],
    ['IPv4 outside', { ip: [{ cidr: '10.0.0.0/24' }] }, { ip: '10.0.1.0' }, false],
    ['IPv4 /32', { ip: [{ cidr: '192.168.1.7/32' }] }, { ip: '192.168.1.7' }, true],
    ['IPv4 /0', { ip: [{ cidr: '0.0.0.0/0' }] }, { ip: '8.8.8.8' }, true],
    ['host bits are ignored', { ip: [{ cidr: '10.0.0.77/24' }] }, { ip: '10.0.0.1' }, true],
    ['IPv6 inside', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db8:1::1' }, true],
    ['IPv6 outside', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:db9::1' }, false],
    ['IPv6 full form', { ip: [{ cidr: '2001:db8::/32' }] }, { ip: '2001:0db8:0:0:0:0:0:1' }, true],
    ['IPv6 embedded IPv4', { ip: [{ cidr: '::ffff:0:0/96' }] }, { ip: '::ffff:10.0.0.1' }, true],
    ['version mismatch', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: '::1' }, false],
    ['not an address', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: '10.0.0' }, false],
    ['not a string', { ip: [{ cidr: '10.0.0.0/8' }] }, { ip: 10 }, false],
  ]);
});

describe('hostile field names', () => {
  it('does not read inherited properties', () => {
    expect(matches({ constructor: [{ exists: true }] }, {})).toBe(false);
    expect(matches({ toString: [{ exists: false }] }, {})).toBe(true);
    expect(matches('{"__proto__": ["x"]}', JSON.parse('{"__proto__": "x"}'))).toBe(true);
    expect(matches('{"__proto__": ["x"]}', {})).toBe(false);
  });
});
