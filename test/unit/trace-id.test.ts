import { describe, expect, it } from 'vitest';
import {
  invokeTraceHeader,
  newTraceHeader,
  parseTraceHeader,
  w3cTraceId,
} from '../../src/lambda/trace-id.ts';

const XRAY = /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/;

describe('X-Ray trace headers', () => {
  it('makes a header in X-Ray format whose Root starts with the epoch second in hex', () => {
    const header = newTraceHeader({ nowMs: 1_700_000_000_123 });
    expect(header).toMatch(XRAY);
    expect(header.slice('Root=1-'.length, 'Root=1-'.length + 8)).toBe((1_700_000_000).toString(16));
  });

  it('makes a different header each time', () => {
    expect(newTraceHeader()).not.toBe(newTraceHeader());
  });

  it('reads Root, Parent and Sampled in any order and case', () => {
    expect(
      parseTraceHeader(
        'sampled=1;Root=1-5759E988-BD862E3FE1BE46A994272793;Parent=53995C3F42CD8AD8',
      ),
    ).toEqual({
      root: '1-5759e988-bd862e3fe1be46a994272793',
      parent: '53995c3f42cd8ad8',
      sampled: '1',
    });
  });

  it('refuses a header without a valid Root', () => {
    expect(parseTraceHeader('Parent=53995c3f42cd8ad8;Sampled=1')).toBeUndefined();
    expect(parseTraceHeader('Root=1-xyz-abc')).toBeUndefined();
    expect(parseTraceHeader('')).toBeUndefined();
  });

  it('gives the W3C trace id as the 32 hex digits of the Root', () => {
    expect(w3cTraceId('Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1')).toBe(
      '5759e988bd862e3fe1be46a994272793',
    );
    expect(w3cTraceId('nonsense')).toBeUndefined();
  });

  it("passes a caller's valid header on unchanged and replaces an invalid or missing one", () => {
    const caller =
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a:1';
    expect(invokeTraceHeader(caller)).toBe(caller);
    expect(invokeTraceHeader('garbage')).toMatch(XRAY);
    expect(invokeTraceHeader(undefined)).toMatch(XRAY);
  });
});
