import { runtimeVersionArn } from '../lambda/arn.ts';
import type { InvokeReport } from './types.ts';

/** Lambda's platform log lines (tab-separated fields), as CloudWatch shows them. */

export function initStartLine(runtimeVersion: string, region: string): string {
  return `INIT_START Runtime Version: ${runtimeVersion}\tRuntime Version ARN: ${runtimeVersionArn(region, runtimeVersion)}`;
}

export function initReportLine(
  initDurationMs: number,
  status: 'error' | 'timeout',
  errorType: string,
): string {
  return `INIT_REPORT Init Duration: ${initDurationMs.toFixed(2)} ms\tPhase: init\tStatus: ${status}\tError Type: ${errorType}`;
}

export function startLine(requestId: string): string {
  return `START RequestId: ${requestId} Version: $LATEST`;
}

export function endLine(requestId: string): string {
  return `END RequestId: ${requestId}`;
}

/** `Init Duration` comes last and only on cold starts. */
export function reportLine(requestId: string, report: InvokeReport): string {
  const fields = [
    `REPORT RequestId: ${requestId}`,
    `Duration: ${report.durationMs.toFixed(2)} ms`,
    `Billed Duration: ${report.billedDurationMs} ms`,
    `Memory Size: ${report.memorySizeMb} MB`,
    `Max Memory Used: ${report.maxMemoryUsedMb} MB`,
  ];
  if (report.initDurationMs !== undefined) {
    fields.push(`Init Duration: ${report.initDurationMs.toFixed(2)} ms`);
  }
  return fields.join('\t');
}

/** Lambda bills whole milliseconds, rounded up (at least 1 ms). */
export function billedDurationMs(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs));
}

/** The last `maxBytes` of a log text, cut on a character boundary (X-Amz-Log-Result is 4 KB). */
export function logTail(text: string, maxBytes = 4096): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let start = bytes.length - maxBytes;
  // Skip UTF-8 continuation bytes so the tail starts on a whole character.
  while (start < bytes.length && ((bytes[start] ?? 0) & 0xc0) === 0x80) start += 1;
  return bytes.subarray(start).toString('utf8');
}

/**
 * Splits a byte stream into lines. Runtimes print one record per line and encode newlines inside
 * a record as `\r` (AWS's Node and Python clients do), so a `\r` becomes a newline again here.
 */
export class LineSplitter {
  private pending = '';
  private readonly emit: (line: string) => void;

  constructor(emit: (line: string) => void) {
    this.emit = emit;
  }

  push(chunk: Buffer | string): void {
    const text = this.pending + chunk.toString();
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) this.emit(line.replaceAll('\r', '\n'));
  }

  /** Emits a trailing line without a newline (at the end of an invoke or at exit). */
  flush(): void {
    if (!this.pending) return;
    const line = this.pending;
    this.pending = '';
    this.emit(line.replaceAll('\r', '\n'));
  }
}
