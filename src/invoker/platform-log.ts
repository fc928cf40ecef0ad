/**
 * The platform's own log lines of an environment in the function's log format: the Text lines of
 * log-lines.ts, or — with `loggingConfig.logFormat: JSON` — the `platform.*` records Lambda writes
 * to CloudWatch (`{time, type, record}`, the Telemetry API's event shapes), filtered by
 * `systemLogLevel` (all of these are INFO records). Pure: the clock is injected.
 */
import { endLine, initStartLine, reportLine, startLine } from './log-lines.ts';
import type { InvokeEnding } from './invoke-result.ts';
import type { FunctionLoggingConfig, InitializationType, InvokeReport } from './types.ts';

/** `status` of platform.runtimeDone / platform.report. */
export type InvokeStatus = 'success' | 'error' | 'failure' | 'timeout';

/** A formatter of platform lines; each returns undefined when the system log level drops it. */
export interface PlatformLog {
  initStart(runtimeVersion: string, region: string, type: InitializationType): string | undefined;
  start(requestId: string): string | undefined;
  /** END in Text; platform.runtimeDone in JSON. */
  end(
    requestId: string,
    status: InvokeStatus,
    durationMs: number,
    producedBytes: number,
  ): string | undefined;
  report(requestId: string, report: InvokeReport, status: InvokeStatus): string | undefined;
}

const SYSTEM_LEVELS = { DEBUG: 1, INFO: 2, WARN: 3 } as const;

/**
 * How an invoke ended, in Telemetry API terms: a handler error is `error`, an environment that
 * failed under it (crash, out of memory, init error) `failure`. Which of the two Lambda reports
 * for a given crash is unconfirmed.
 */
export function invokeStatus(ending: InvokeEnding): InvokeStatus {
  if (!ending.error) return 'success';
  if (ending.error.errorType === 'Sandbox.Timedout') return 'timeout';
  return ending.failed ? 'failure' : 'error';
}

export function platformLog(
  config: FunctionLoggingConfig | undefined,
  now: () => Date = () => new Date(),
): PlatformLog {
  if (config?.logFormat !== 'JSON') {
    return {
      initStart: (runtimeVersion, region) => initStartLine(runtimeVersion, region),
      start: (requestId) => startLine(requestId),
      end: (requestId) => endLine(requestId),
      report: (requestId, report) => reportLine(requestId, report),
    };
  }
  const shown = SYSTEM_LEVELS[config.systemLogLevel ?? 'INFO'] <= SYSTEM_LEVELS.INFO;
  const record = (type: string, body: Record<string, unknown>): string | undefined =>
    shown ? JSON.stringify({ time: now().toISOString(), type, record: body }) : undefined;
  return {
    initStart: (runtimeVersion, region, initializationType) =>
      record('platform.initStart', {
        initializationType,
        phase: 'init',
        runtimeVersion,
        runtimeVersionArn: `arn:aws:lambda:${region}::runtime:sluice-${runtimeVersion}`,
      }),
    start: (requestId) => record('platform.start', { requestId, version: '$LATEST' }),
    end: (requestId, status, durationMs, producedBytes) =>
      record('platform.runtimeDone', {
        requestId,
        status,
        metrics: { durationMs: round2(durationMs), producedBytes },
      }),
    report: (requestId, report, status) =>
      record('platform.report', { requestId, metrics: reportMetrics(report), status }),
  };
}

function reportMetrics(report: InvokeReport): Record<string, number> {
  return {
    durationMs: round2(report.durationMs),
    billedDurationMs: report.billedDurationMs,
    memorySizeMB: report.memorySizeMb,
    maxMemoryUsedMB: report.maxMemoryUsedMb,
    ...(report.initDurationMs === undefined
      ? {}
      : { initDurationMs: round2(report.initDurationMs) }),
  };
}

const round2 = (ms: number): number => Math.round(ms * 100) / 100;
