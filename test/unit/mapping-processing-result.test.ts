import { describe, expect, it } from 'vitest';
import { lambdaProcessingResult } from '../../src/engine/mapping-runner.ts';

describe("LastProcessingResult in Lambda's forms", () => {
  it('keeps No records processed, OK and PROBLEM: texts as they are', () => {
    expect(lambdaProcessingResult('No records processed')).toBe('No records processed');
    expect(lambdaProcessingResult('OK')).toBe('OK');
    expect(lambdaProcessingResult('PROBLEM: connect ECONNREFUSED')).toBe(
      'PROBLEM: connect ECONNREFUSED',
    );
  });

  it('words every other result as PROBLEM: <what went wrong>', () => {
    expect(lambdaProcessingResult('2 of 5 records reported as failed')).toBe(
      'PROBLEM: 2 of 5 records reported as failed',
    );
    expect(lambdaProcessingResult('Function call failed')).toBe('PROBLEM: Function call failed');
  });
});
