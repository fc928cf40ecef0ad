import { cpus, totalmem } from 'node:os';

/** Where a figure was measured: benchmark results are only comparable within one fingerprint. */
export function fingerprint(extra: Record<string, string> = {}): Record<string, string> {
  return {
    date: new Date().toISOString(),
    cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    ...extra,
  };
}
