import { describe, expect, it } from 'vitest';
import { loadConfigFromString } from '../../src/app/config.ts';
import {
  decideReadiness,
  parseStrictParam,
  publicReadiness,
  type MappingReadinessInput,
  type ReadinessInput,
} from '../../src/engine/readiness.ts';
import { sourceView } from '../../src/engine/source-health.ts';

const healthy: MappingReadinessInput = {
  name: 'orders',
  state: 'Enabled',
  stateTransitionReason: 'USER_INITIATED',
  lastProcessingResult: 'OK',
  sourceHealthy: true,
};
const down: MappingReadinessInput = {
  name: 'payments',
  state: 'Enabled',
  stateTransitionReason: 'EVENT_SOURCE_UNREACHABLE',
  lastProcessingResult: 'PROBLEM: connect ECONNREFUSED 127.0.0.1:1',
  sourceHealthy: false,
};
const input = (over: Partial<ReadinessInput> = {}): ReadinessInput => ({
  engineState: 'running',
  store: { ok: true },
  mappings: [healthy],
  strict: false,
  ...over,
});

describe('readiness decision', () => {
  it('is ready when running with a readable store and every mapping polling', () => {
    expect(decideReadiness(input())).toMatchObject({ ready: true, status: 'ready' });
  });

  it('a source outage degrades its mapping but leaves the worker ready, naming state and reason', () => {
    const r = decideReadiness(input({ mappings: [healthy, down] }));
    expect(r).toMatchObject({ ready: true, status: 'degraded', strict: false });
    expect(r.checks['mapping:payments']).toEqual({
      ok: false,
      health: 'degraded',
      state: 'Enabled',
      reason: 'EVENT_SOURCE_UNREACHABLE',
      detail: 'PROBLEM: connect ECONNREFUSED 127.0.0.1:1',
    });
    expect(r.checks['mapping:orders']).toMatchObject({ ok: true, health: 'healthy' });
  });

  it('strict readiness fails on a degraded mapping', () => {
    expect(decideReadiness(input({ mappings: [healthy, down], strict: true }))).toMatchObject({
      ready: false,
      status: 'degraded',
      strict: true,
    });
    expect(decideReadiness(input({ strict: true })).ready).toBe(true);
  });

  it('a mapping still connecting is degraded; a disabled one counts for nothing', () => {
    const connecting = { ...healthy, name: 'c', state: 'Enabling' as const, sourceHealthy: false };
    const disabled = { ...down, name: 'd', state: 'Disabled' as const };
    const r = decideReadiness(input({ mappings: [connecting, disabled], strict: true }));
    expect(r.checks['mapping:c']?.health).toBe('degraded');
    expect(r.checks['mapping:d']).toMatchObject({ ok: true, health: 'disabled' });
    expect(decideReadiness(input({ mappings: [disabled], strict: true })).ready).toBe(true);
  });

  it('is unready when not running or when the store cannot be read, strict or not', () => {
    for (const engineState of ['created', 'starting', 'stopping', 'stopped']) {
      expect(decideReadiness(input({ engineState }))).toMatchObject({
        ready: false,
        status: 'unready',
      });
    }
    const r = decideReadiness(input({ store: { ok: false, detail: 'the state store is closed' } }));
    expect(r).toMatchObject({ ready: false, status: 'unready' });
    expect(r.checks.store).toEqual({ ok: false, detail: 'the state store is closed' });
  });

  it('the public body is the bare status: no names, texts or URLs', () => {
    const r = decideReadiness(input({ mappings: [down] }));
    expect(publicReadiness(r)).toEqual({ ready: true, status: 'degraded' });
  });

  it('reads ?strict= as true, false or the configured default', () => {
    expect(['1', 'true', 'TRUE', ''].map(parseStrictParam)).toEqual([true, true, true, true]);
    expect(['0', 'false'].map(parseStrictParam)).toEqual([false, false]);
    expect([null, 'maybe'].map(parseStrictParam)).toEqual([undefined, undefined]);
  });

  it('api.readiness is lenient unless set to strict', () => {
    expect(loadConfigFromString('{}').api.readiness).toBe('lenient');
    expect(loadConfigFromString('api: { readiness: strict }').api.readiness).toBe('strict');
    expect(() => loadConfigFromString('api: { readiness: sometimes }')).toThrow(/readiness/);
  });
});

describe('source view', () => {
  it('words a source problem as Lambda does, with the connector reason', () => {
    expect(
      sourceView(
        { ok: false, reason: 'EVENT_SOURCE_UNREACHABLE', detail: 'receive timed out' },
        true,
      ),
    ).toEqual({
      healthy: false,
      reason: 'EVENT_SOURCE_UNREACHABLE',
      problem: 'PROBLEM: receive timed out',
    });
    expect(sourceView({ ok: true }, true)).toEqual({ healthy: true });
    // Not connected yet, nothing wrong known: unhealthy without a problem to show.
    expect(sourceView({ ok: true }, false)).toEqual({ healthy: false });
  });
});
