import { describe, expect, it } from 'vitest';
import { attributeCopies, type KillNote } from '../../bench/soak/copies.ts';
import { attribute, parseDeliveries } from '../../bench/soak/tally.ts';

const note = (kill: number, gen: number, held: number, scrapedAtMs: number): KillNote => ({
  kill,
  gen,
  upMs: 0,
  held,
  scrapedAtMs,
  finishedAfterScrape: 0,
  blind: false,
  bound: held,
  duplicates: 0,
});

describe('soak copies', () => {
  it('charges a copy to the generation of the delivery before it, whatever the write order', () => {
    const d = parseDeliveries('a 2 2 300\nb 1 1 100\na 1 1 100\nb 3 2 500\nb 1 1 120\n');
    const a = attribute(d);
    // a: 1 → 2; b: 1, 1 (same generation), then 3.
    expect([...a.byEndedGen]).toEqual([[1, 2]]);
    expect(a.sameGen.map((c) => [c.id, c.gen])).toEqual([['b', 1]]);
  });

  it('charges copies of an ambiguously sent record to the ambiguous send first', () => {
    const a = attribute(parseDeliveries('x 1 1 1\nx 1 1 2\nx 2 2 3\n'), new Map([['x', 1]]));
    expect({ ambiguous: a.ambiguous, sameGen: a.sameGen.length }).toEqual({
      ambiguous: 1,
      sameGen: 0,
    });
    expect([...a.byEndedGen]).toEqual([[1, 1]]);
  });

  it("adds to a kill's bound what its generation finished after the scrape, not before", () => {
    const text = ['a 1 1 90', 'b 1 1 110', 'c 1 1 120', 'b 2 2 900', 'c 2 2 900', ''].join('\n');
    const kill = note(1, 1, 0, 100);
    const copies = attributeCopies(text, new Set(['a', 'b', 'c']), new Map(), [kill], () => {});
    expect(kill).toMatchObject({ duplicates: 2, finishedAfterScrape: 2, bound: 2 });
    expect(copies.unattributed).toBe(0);
  });

  it('tells a second stored copy (another Kafka offset) from a redelivery of the same one', () => {
    const d = parseDeliveries(
      ['k 1 - 1 0:5', 'k 1 - 2 0:9', 'k 1 - 3 0:9', 'k 2 - 4 0:5', ''].join('\n'),
    );
    const a = attribute(d);
    expect(a.storedTwice).toBe(1);
    expect(a.sameGen.map((c) => c.id)).toEqual(['k']);
    expect([...a.byEndedGen]).toEqual([[1, 1]]);
  });
});
