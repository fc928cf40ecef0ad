/**
 * How a shutdown spends its deadline. `--shutdown-timeout` is a promise to whoever sends SIGTERM
 * (an orchestrator SIGKILLs after it), so the process aims to be gone *before* it: the margin
 * absorbs what the process cannot time itself (the exit, a busy host). Inside what is left, the
 * last part is kept for cleanup that must happen after the work stops (function processes shut
 * down, API connections closed, the store closed), so running work only gets the rest.
 */

/** Never less than this between the planned exit and the deadline. */
const MIN_MARGIN_MS = 500;
/** …and at least this share of the deadline. */
const MARGIN_SHARE = 0.05;
/** Cleanup is given a quarter of the engine's time, between these bounds. */
const CLEANUP_SHARE = 0.25;
const MIN_CLEANUP_MS = 100;
const MAX_CLEANUP_MS = 2500;
/** Lambda's longest SHUTDOWN grace for extensions; never more than half the cleanup time. */
const MAX_ENVIRONMENT_GRACE_MS = 2000;

/** The margin the process keeps before the deadline: max(500 ms, 5 % of it). */
export function shutdownMarginMs(deadlineMs: number): number {
  return Math.max(MIN_MARGIN_MS, Math.ceil(deadlineMs * MARGIN_SHARE));
}

/** When the process will have exited at the latest, counted from the signal. */
export function exitByMs(deadlineMs: number): number {
  return Math.max(0, deadlineMs - shutdownMarginMs(deadlineMs));
}

/** Offsets from the start of an engine stop (ms) by which each part of it is over. */
export interface StopBudget {
  /** Running work (batches, async events, invokes) may finish until then. */
  drainMs: number;
  /** Sources and the async queue have handed back what they hold (connectors closed). */
  settledMs: number;
  /** Function processes are gone (SIGTERM, grace, then SIGKILL). */
  environmentsMs: number;
  /** Grace between SIGTERM and SIGKILL for function processes. */
  environmentGraceMs: number;
  /** Everything, API, connections and store included, is done. */
  totalMs: number;
}

/**
 * Splits an engine stop's `deadlineMs` between running work and the cleanup after it: a quarter
 * of the time (100 ms to 2.5 s) is cleanup — a quarter of that to settle at the sources, half to
 * shut function processes down, the last quarter for the API, connections and the store.
 */
export function stopBudget(deadlineMs: number): StopBudget {
  const totalMs = Math.max(0, deadlineMs);
  const cleanupMs = Math.min(
    totalMs,
    Math.min(MAX_CLEANUP_MS, Math.max(MIN_CLEANUP_MS, Math.round(totalMs * CLEANUP_SHARE))),
  );
  const drainMs = totalMs - cleanupMs;
  const settledMs = drainMs + Math.round(cleanupMs / 4);
  const environmentsMs = settledMs + Math.round(cleanupMs / 2);
  return {
    drainMs,
    settledMs,
    environmentsMs,
    environmentGraceMs: Math.min(MAX_ENVIRONMENT_GRACE_MS, Math.floor((cleanupMs * 2) / 5)),
    totalMs,
  };
}

/**
 * Waits for `promise` at most `ms`. A phase that overruns is left behind (the process is ending).
 * A rejection is passed on.
 */
export async function within<T>(
  promise: Promise<T>,
  ms: number,
): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise.then((value) => ({ done: true as const, value })), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
