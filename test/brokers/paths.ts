import { homedir } from 'node:os';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

/**
 * Downloads and builds are cached outside the repository (a fresh clone reuses them); running
 * brokers keep their data, pid files and logs here too, so a later run can reuse or stop them.
 * Override with SLUICE_BROKERS_HOME.
 */
export const BROKERS_HOME =
  process.env.SLUICE_BROKERS_HOME ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice-brokers');

export function brokerDir(...parts: string[]): string {
  const dir = join(BROKERS_HOME, ...parts);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Logs live in one known folder for debugging: ~/.cache/sluice-brokers/logs/<name>.log */
export const logFile = (name: string): string => join(brokerDir('logs'), `${name}.log`);
export const pidFile = (name: string): string => join(brokerDir('run'), `${name}.pid`);
