import { describe, expect, it } from 'vitest';
import { eventually, EventuallyTimeout } from '../support/eventually.ts';

describe('eventually', () => {
  it('resolves once a sync or async condition holds, and takes expect-style checks', async () => {
    let n = 0;
    await eventually(() => ++n >= 3, 'three checks', { intervalMs: 1 });
    expect(n).toBe(3);
    let m = 0;
    await eventually(async () => ++m >= 2, 'two async checks', { intervalMs: 1 });
    expect(m).toBe(2);
    let k = 0;
    await eventually(() => expect(++k).toBe(4), 'the fourth check', { intervalMs: 1 });
    expect(k).toBe(4);
  });

  it('fails naming what was awaited and the last result it saw', async () => {
    const failure = eventually(() => false, 'the queue empty', { limitMs: 30, intervalMs: 5 });
    await expect(failure).rejects.toBeInstanceOf(EventuallyTimeout);
    await expect(failure).rejects.toThrow(
      /gave up waiting for: the queue empty .*last result: false/,
    );
  });

  it('fails naming the last error the condition threw', async () => {
    let n = 0;
    const failure = eventually(() => expect(++n).toBe(-1), 'a negative count', {
      limitMs: 30,
      intervalMs: 5,
    });
    await expect(failure).rejects.toThrow(
      /a negative count .*last error: AssertionError: expected \d+ to be -1/,
    );
  });
});
