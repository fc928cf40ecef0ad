/**
 * Throughput-seeking invoke concurrency: how many batches of one mapping are invoked at once,
 * between 1 and the mapping's maximumConcurrency. Lambda treats maximumConcurrency as the target
 * whenever there is a backlog; on a machine the engine shares with its functions (and often the
 * broker), more concurrent invokes of a fast function only add processes competing for the same
 * cores — measured on 2 cores, RabbitMQ batch 100: 8 invokes at once ran at 72 % of a raw consumer,
 * 1 at a time at 97 %. A slow or I/O-bound function is the opposite: throughput grows with
 * concurrency. The tuner finds out which by measuring.
 *
 * A hill climb over a ladder of levels (1, 2, 3, 4, 5, 7, 9, 12, … about ×1.25 a rung), on windows
 * in which the mapping had a backlog: it measures the records/s settled at the current level, probes
 * a neighbouring level it has no fresh figure for, moves up only when the level above is clearly
 * faster, and down whenever the level below is at least as fast (fewer processes for the same
 * work). Figures age out, so a function that changes speed is re-measured. Pure: the runner feeds
 * it one window at a time and applies the limit it returns.
 */

export interface TunerSettings {
  /** Fewest invokes in flight the tuner may choose. Default 1. */
  minimum: number;
  /** Most: the mapping's maximumConcurrency, or the engine's ceiling when it has none. */
  maximum: number;
  /** Level at start. Default min(5, maximum): Lambda's SQS pollers start at 5. */
  initial: number;
  /** Length of a measurement window. Default 250 ms. */
  windowMs: number;
  /**
   * After a move, invokes started under the old limit finish during this short window, which is
   * not measured. Default 50 ms.
   */
  settleMs: number;
  /** Fewest settled batches a window needs to count; a shorter one is extended. Default 6. */
  minBatches: number;
  /** How much faster the level above must be to move up (0.1 = 10 %). Default 0.1. */
  margin: number;
  /** A level's figure is trusted for this many windows, then measured again. Default 12 (3 s). */
  staleAfterWindows: number;
}

/** What happened in one window. */
export interface TunerWindow {
  /** Records of batches whose invoke returned without a function error. */
  records: number;
  /** Batches whose invoke returned. */
  batches: number;
  elapsedMs: number;
  /**
   * The limit was binding: batches waited for an invoke slot, or the source had a backlog (full
   * batches, no empty polls). Otherwise the rate says nothing about the level.
   */
  saturated: boolean;
  /**
   * Batches whose invoke ended in a function error (default 0). A window where at least half of
   * the batches failed is not a throughput figure: a failing function settles nothing at any
   * level, and reading that as "slow" would walk the limit down to 1 and leave it there when the
   * function recovers. Such windows hold the level (the poller's back-off handles the failures).
   */
  failedBatches?: number;
}

export interface LevelRate {
  /** Records per second (mean of the last measurements). */
  rate: number;
  /** Window number of the last measurement. */
  window: number;
}

export interface TunerState {
  /** Invokes in flight allowed now. */
  limit: number;
  /** Windows seen. */
  window: number;
  /** Figures per level. */
  rates: ReadonlyMap<number, LevelRate>;
  /** The limit just changed: the next window (`settleMs` long) mixes two levels and is skipped. */
  settling: boolean;
  /** Which neighbour to probe first when both are unmeasured: the way the last move went. */
  heading: 'up' | 'down';
}

export function defaultTunerSettings(maximum: number): TunerSettings {
  const max = Math.max(1, Math.floor(maximum));
  return {
    minimum: 1,
    maximum: max,
    initial: Math.min(5, max),
    windowMs: 250,
    settleMs: 50,
    minBatches: 6,
    margin: 0.1,
    staleAfterWindows: 12,
  };
}

export function initialTunerState(s: TunerSettings): TunerState {
  return {
    limit: clamp(s.initial, s),
    window: 0,
    rates: new Map(),
    // The first window holds the mapping's start (connections, JIT, pollers ramping): skip it.
    settling: true,
    heading: 'down',
  };
}

/** The level above `level` on the ladder (undefined at the maximum). */
export function levelAbove(level: number, s: TunerSettings): number | undefined {
  if (level >= s.maximum) return undefined;
  return Math.min(s.maximum, Math.max(level + 1, Math.ceil(level * 1.25)));
}

/** The level below `level` on the ladder (undefined at the minimum). */
export function levelBelow(level: number, s: TunerSettings): number | undefined {
  if (level <= s.minimum) return undefined;
  return Math.max(s.minimum, Math.min(level - 1, Math.floor(level / 1.25)));
}

/** The state after one window. */
export function tunerStep(state: TunerState, s: TunerSettings, w: TunerWindow): TunerState {
  const window = state.window + 1;
  const limit = clamp(state.limit, s);
  if (limit !== state.limit) return moved(state, window, limit);
  if (state.settling) return { ...state, window, settling: false };
  if (!w.saturated || w.batches < s.minBatches || w.elapsedMs <= 0) return { ...state, window };
  if ((w.failedBatches ?? 0) * 2 >= w.batches) return { ...state, window };

  const rates = new Map(state.rates);
  const rate = (w.records * 1000) / w.elapsedMs;
  const previous = fresh(rates.get(limit), window, s);
  rates.set(limit, { rate: previous ? (previous.rate + rate) / 2 : rate, window });
  const current = rates.get(limit) as LevelRate;
  const next: TunerState = { ...state, window, rates };

  const up = levelAbove(limit, s);
  const down = levelBelow(limit, s);
  const upRate = up === undefined ? undefined : fresh(rates.get(up), window, s);
  const downRate = down === undefined ? undefined : fresh(rates.get(down), window, s);

  // Known neighbours first: up only when clearly faster, down whenever at least as fast.
  if (up !== undefined && upRate && upRate.rate > current.rate * (1 + s.margin))
    return moved(next, window, up, 'up');
  if (down !== undefined && downRate && downRate.rate >= current.rate)
    return moved(next, window, down, 'down');
  // Then an unmeasured neighbour, the way the last move went first (a climb keeps climbing while
  // each level pays; the step above did not send it back).
  const probeUp = up !== undefined && upRate === undefined;
  const probeDown = down !== undefined && downRate === undefined;
  if (probeUp && (state.heading === 'up' || !probeDown)) return moved(next, window, up, 'up');
  if (probeDown) return moved(next, window, down as number, 'down');
  return next;
}

function moved(
  state: TunerState,
  window: number,
  limit: number,
  heading: TunerState['heading'] = state.heading,
): TunerState {
  return { ...state, window, limit, settling: true, heading };
}

function fresh(r: LevelRate | undefined, window: number, s: TunerSettings): LevelRate | undefined {
  return r && window - r.window <= s.staleAfterWindows ? r : undefined;
}

function clamp(n: number, s: TunerSettings): number {
  return Math.max(s.minimum, Math.min(s.maximum, n));
}
