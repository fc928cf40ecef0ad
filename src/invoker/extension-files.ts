import { access, constants, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FunctionSpec } from './types.ts';

/** Lambda starts at most this many external extensions. */
export const MAX_EXTENSIONS = 10;

/**
 * The external extensions of a function: executable files of its extensions folder
 * (`extensionsDir`, default `<codeDir>/extensions`), in name order. A missing folder means none.
 */
export async function listExtensions(
  spec: FunctionSpec,
): Promise<{ paths: string[]; skipped: string[] }> {
  const dir = spec.extensionsDir ?? join(spec.codeDir, 'extensions');
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return { paths: [], skipped: [] };
  }
  const executables: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      if (!(await stat(path)).isFile()) continue;
      await access(path, constants.X_OK);
      executables.push(path);
    } catch {
      // not an executable file
    }
  }
  return {
    paths: executables.slice(0, MAX_EXTENSIONS),
    skipped: executables.slice(MAX_EXTENSIONS),
  };
}
