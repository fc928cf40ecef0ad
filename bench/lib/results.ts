import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// BENCH_RESULTS_DIR sends a trial run (profiling, a tuning experiment) elsewhere.
const RESULTS = process.env.BENCH_RESULTS_DIR
  ? `${process.env.BENCH_RESULTS_DIR.replace(/\/$/, '')}/`
  : fileURLToPath(new URL('../results/', import.meta.url));

/** Writes a benchmark's JSON result and prints its markdown table. */
export function report(name: string, data: Record<string, unknown>, table: string): void {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(`${RESULTS}${name}.json`, `${JSON.stringify(data, null, 2)}\n`);
  writeFileSync(`${RESULTS}${name}.md`, `${table}\n`);
  process.stdout.write(`${table}\n(results: ${RESULTS}${name}.json)\n`);
}
