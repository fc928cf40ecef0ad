import { describe, expect, it } from 'vitest';
import { SluiceError, isSluiceError } from '../../src/errors.ts';

describe('SluiceError', () => {
  it('carries a stable code, enumerable context and a retry hint', () => {
    const err = new SluiceError('THROTTLED', 'over the ceiling', {
      context: { functionName: 'f' },
      canRetry: true,
    });
    expect(err.code).toBe('THROTTLED');
    expect(Object.keys(err.context)).toEqual(['functionName']);
    expect(err.canRetry).toBe(true);
    expect(isSluiceError(err, 'THROTTLED')).toBe(true);
    expect(isSluiceError(err, 'STORE')).toBe(false);
    expect(isSluiceError(new Error('x'))).toBe(false);
  });
});
