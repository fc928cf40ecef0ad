import type { InvocationOutcome } from '../runtime-api/runtime-api-server.ts';
import { billedDurationMs, logTail } from './log-lines.ts';
import { processMemory } from './memory-watch.ts';
import * as platform from './platform-errors.ts';
import type { FunctionErrorBody, InvokeReport, InvokeResult } from './types.ts';

/**
 * What an invoke returns, assembled from how it ended: the REPORT figures, the log tail and the
 * error bodies of the platform (the environment decides; this module only shapes).
 */

export const MIB = 1024 * 1024;

/** Why an invoke (or init) ended without the runtime's answer. */
export type Interruption =
  | { kind: 'exit'; text: string; spawnFailed?: boolean }
  | { kind: 'oom' }
  | { kind: 'extension-crash'; name: string; text: string }
  | { kind: 'extension-error'; errorType: string; body: Buffer };

/** How an invoke ended, before its REPORT figures and log tail are added. */
export interface InvokeEnding {
  /** The environment must not be re-used (init failure, timeout, crash, OOM). */
  failed: boolean;
  payload?: Buffer;
  error?: FunctionErrorBody;
}

/** The runtime's own answer: its response, the error it posted, or a response too large. */
export function answeredEnding(outcome: InvocationOutcome): InvokeEnding {
  if (outcome.kind === 'response') return { failed: false, payload: outcome.body };
  const posted =
    outcome.kind === 'error'
      ? platform.fromPostedError(outcome.body, outcome.errorType)
      : { error: platform.responseTooLarge() };
  return { failed: false, ...posted };
}

/** The platform's error for an interruption; without one, the invoke timed out. */
export function interruptionError(
  requestId: string,
  interruption: Interruption | undefined,
  timeoutMs: number,
): FunctionErrorBody {
  if (!interruption) return platform.timedOut(requestId, timeoutMs);
  switch (interruption.kind) {
    case 'oom':
      return platform.outOfMemory(requestId);
    case 'exit':
      return platform.runtimeExited(requestId, interruption.text);
    case 'extension-crash':
      return platform.extensionCrashed(requestId, interruption.name, interruption.text);
    case 'extension-error':
      return platform.fromPostedError(interruption.body, interruption.errorType).error;
  }
}

/**
 * Summed peak memory of the root processes. Only the roots here (one /proc read each, on every
 * invoke); their subprocesses are covered by the memory watch's samples while the invoke ran.
 */
export function rootsPeakBytes(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + (processMemory(pid)?.peakBytes ?? 0), 0);
}

export function invokeReport(figures: {
  durationMs: number;
  memorySizeMb: number;
  peakBytes: number;
  initDurationMs: number | undefined;
}): InvokeReport {
  const { durationMs, memorySizeMb, peakBytes, initDurationMs } = figures;
  return {
    durationMs,
    billedDurationMs: billedDurationMs(durationMs),
    memorySizeMb,
    maxMemoryUsedMb: Math.min(memorySizeMb, Math.max(1, Math.round(peakBytes / MIB))),
    ...(initDurationMs === undefined ? {} : { initDurationMs }),
  };
}

/** The log tail returned with the result (X-Amz-Log-Result) from the lines the invoke logged. */
export function invokeLogTail(lines: readonly string[]): string {
  return logTail(`${lines.join('\n')}\n`);
}

export function invokeResult(
  requestId: string,
  ending: InvokeEnding,
  report: InvokeReport,
  tail: string,
): InvokeResult {
  if (!ending.error) {
    return {
      ok: true,
      requestId,
      payload: ending.payload ?? Buffer.from('null'),
      report,
      logTail: tail,
    };
  }
  return {
    ok: false,
    requestId,
    functionError: 'Unhandled',
    error: ending.error,
    payload: ending.payload ?? Buffer.from(JSON.stringify(ending.error)),
    report,
    logTail: tail,
  };
}
