/**
 * The readiness contract (`/readyz`). A worker is unready only for what stops it as a whole: not
 * started (or stopping), or its store unreachable. A source outage marks its mapping *degraded*
 * but leaves the worker ready — a broker outage would otherwise take every replica out of service
 * at once, although each still serves its API, its async queue and its other mappings. Strict
 * readiness (`?strict=1`, or `api.readiness: strict`) also fails on any degraded mapping.
 */
import type { MappingState } from './mapping-state.ts';

/** What the decision needs of one mapping (a view of `MappingStatus`). */
export interface MappingReadinessInput {
  name: string;
  state: MappingState;
  stateTransitionReason: string;
  lastProcessingResult: string;
  sourceHealthy: boolean;
}

export interface ReadinessInput {
  /** The engine's lifecycle state: only 'running' is ready. */
  engineState: string;
  store: { ok: boolean; detail?: string };
  mappings: readonly MappingReadinessInput[];
  strict: boolean;
}

/** healthy: polling a source that answers; degraded: enabled but not (yet) able to poll. */
export type MappingHealth = 'healthy' | 'degraded' | 'disabled';

export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
  /** Mappings: their health, Lambda state and state reason. */
  health?: MappingHealth;
  state?: string;
  reason?: string;
}

/** ready: all well; degraded: serving, some mapping cannot poll; unready: not serving. */
export type ReadinessStatus = 'ready' | 'degraded' | 'unready';

export interface Readiness {
  ready: boolean;
  status: ReadinessStatus;
  strict: boolean;
  /** `engine`, `store`, and `mapping:<name>` for each mapping. */
  checks: Record<string, ReadinessCheck>;
}

/** What `/readyz` tells a caller without the API token: no names, texts or URLs. */
export interface PublicReadiness {
  ready: boolean;
  status: ReadinessStatus;
}

export function decideReadiness(input: ReadinessInput): Readiness {
  const engineOk = input.engineState === 'running';
  const checks: Record<string, ReadinessCheck> = {
    engine: { ok: engineOk, detail: input.engineState },
    store: {
      ok: input.store.ok,
      ...(input.store.detail === undefined ? {} : { detail: input.store.detail }),
    },
  };
  let degraded = false;
  for (const m of input.mappings) {
    const health = mappingHealth(m);
    if (health === 'degraded') degraded = true;
    checks[`mapping:${m.name}`] = {
      ok: health !== 'degraded',
      health,
      state: m.state,
      reason: m.stateTransitionReason,
      detail: m.lastProcessingResult,
    };
  }
  const serving = engineOk && input.store.ok;
  const status: ReadinessStatus = !serving ? 'unready' : degraded ? 'degraded' : 'ready';
  const ready = serving && !(degraded && input.strict);
  return { ready, status, strict: input.strict, checks };
}

export function mappingHealth(m: MappingReadinessInput): MappingHealth {
  if (m.state === 'Disabled' || m.state === 'Disabling' || m.state === 'Deleting')
    return 'disabled';
  // Creating/Enabling: the source has not answered yet (it is being connected, or down).
  return (m.state === 'Enabled' || m.state === 'Updating') && m.sourceHealthy
    ? 'healthy'
    : 'degraded';
}

export function publicReadiness(r: Readiness): PublicReadiness {
  return { ready: r.ready, status: r.status };
}

/**
 * `?strict=1|true` asks for strict readiness, `?strict=0|false` for the lenient one; absent (or
 * anything else) = the configured default.
 */
export function parseStrictParam(value: string | null): boolean | undefined {
  if (value === null) return undefined;
  const v = value.toLowerCase();
  if (v === '' || v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  return undefined;
}
