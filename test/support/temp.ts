/** Temporary folders and files for tests: each in its own fresh folder under the OS temp dir. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TempDir {
  path: string;
  cleanup(): void;
}

/** A fresh, empty folder; `cleanup()` removes it and everything in it. */
export function tempDir(prefix = 'sluice-test-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A path for a SQLite state store (`state.db`) in a fresh folder, not yet created. */
export function tempStorePath(prefix = 'sluice-store-'): TempDir {
  const dir = tempDir(prefix);
  return { path: join(dir.path, 'state.db'), cleanup: dir.cleanup };
}

/**
 * Writes a one-file Node function (`index.mjs` exporting `handler`) into `dir`, or into
 * `dir/<sub>` when `sub` is given, and returns the folder to use as the function's `code`.
 */
export function writeNodeFunction(dir: string, source: string, sub?: string): string {
  const codeDir = sub === undefined ? dir : join(dir, sub);
  mkdirSync(codeDir, { recursive: true });
  writeFileSync(join(codeDir, 'index.mjs'), source);
  return codeDir;
}
