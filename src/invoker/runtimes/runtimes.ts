import { accessSync, constants } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../../errors.ts';
import type { FunctionSpec } from '../types.ts';

/** How to start the runtime process of one function. */
export interface RuntimeLaunch {
  command: string;
  args: string[];
  /** AWS_EXECUTION_ENV (`AWS_Lambda_nodejs22.x`); Lambda sets none for `provided*`. */
  executionEnv?: string;
  /** Shown on INIT_START (`nodejs:22.v23.3`). */
  runtimeVersion: string;
  /** LAMBDA_RUNTIME_DIR. */
  runtimeDir: string;
  /** Folders put first on the function's PATH (so `node` / `python3` resolve as in Lambda). */
  pathDirs: string[];
  /** The runtime can start as a warm spare and take its function later (spare-processes.ts). */
  spares?: boolean;
}

const NODE_BOOTSTRAP = fileURLToPath(new URL('./nodejs/bootstrap.mjs', import.meta.url));

export type RuntimeFamily = 'nodejs' | 'python' | 'provided';

export function runtimeFamily(runtime: string): RuntimeFamily {
  if (/^nodejs\d+\.x$/.test(runtime)) return 'nodejs';
  if (/^python3\.\d+$/.test(runtime)) return 'python';
  if (runtime === 'provided' || /^provided\.al20\d\d$/.test(runtime)) return 'provided';
  throw new SluiceError('CONFIG_INVALID', `Unsupported runtime "${runtime}"`, {
    context: {
      runtime,
      expected: 'nodejs<N>.x | python3.<N> | provided | provided.al2 | provided.al2023',
    },
  });
}

/**
 * Node's heap limits derived from the function's memory, like AWS's Node bootstrap: most of the
 * memory for the old space so a leaking function hits the RSS watch (Runtime.OutOfMemory) rather
 * than V8's own abort, and a semi space that grows with memory for throughput.
 *
 * Cost: any V8 flag on the command line makes V8 reject Node's cached code of its built-in
 * modules, which adds ~9 ms to every spawned runtime (measured: 26.6 ms without, 36 ms with, for a
 * 22.6 ms bare `node -e ""`: 1.6× against issue 3's 1.3× target). That start-up is why cold starts
 * normally run in a warm spare (spare-processes.ts): a process per memory size, started with these
 * flags before any function needs it, so a cold start only pays for the assignment, the handler
 * and `/next` (~5 ms, 0.2× bare node; `npm run bench -- invoke` reports both figures). Functions
 * that declare start-up-only variables (NODE_OPTIONS…), the first cold start of a memory size, and
 * bursts beyond the one spare still spawn and pay the 1.6×. `SLUICE_NODE_HEAP_FLAGS=0` in sluice's
 * environment leaves the flags out; the RSS watch still enforces memorySize, but V8 then collects
 * garbage less eagerly than on Lambda, so a memory-tight function may be killed where Lambda would
 * have collected it.
 */
export function nodeMemoryFlags(memorySizeMb: number): string[] {
  const oldSpaceMb = Math.max(32, Math.floor(memorySizeMb * 0.9));
  const semiSpaceMb = Math.min(32, Math.max(1, Math.floor(memorySizeMb / 128)));
  return [`--max-old-space-size=${oldSpaceMb}`, `--max-semi-space-size=${semiSpaceMb}`];
}

/**
 * Chooses the command for a function's runtime.
 * - `nodejs*`: the Node that runs sluice, with sluice's own bootstrap (the version of `nodejsNN.x`
 *   is not enforced: there is one Node on the machine), plus heap flags (see nodeMemoryFlags).
 * - `python3.*`: `python3 -m awslambdaric <handler>`. The interpreter is `$SLUICE_PYTHON` when set
 *   (absolute path or a name looked up on sluice's PATH), else `python3` from sluice's PATH; it
 *   must have the `awslambdaric` package installed.
 * - `provided*`: the executable `<codeDir>/bootstrap`.
 */
export function resolveRuntime(
  spec: FunctionSpec,
  engineEnv: NodeJS.ProcessEnv = process.env,
): RuntimeLaunch {
  const family = runtimeFamily(spec.runtime);
  if (family === 'nodejs') {
    const major = process.versions.node.split('.')[0];
    return {
      command: process.execPath,
      args: [
        ...(engineEnv.SLUICE_NODE_HEAP_FLAGS === '0' ? [] : nodeMemoryFlags(spec.memorySizeMb)),
        NODE_BOOTSTRAP,
      ],
      executionEnv: `AWS_Lambda_${spec.runtime}`,
      runtimeVersion: `nodejs:${major}.v${process.versions.node}`,
      runtimeDir: dirname(NODE_BOOTSTRAP),
      pathDirs: [dirname(process.execPath)],
      spares: true,
    };
  }
  if (family === 'python') {
    const python = findExecutable(engineEnv.SLUICE_PYTHON || 'python3', engineEnv.PATH ?? '');
    return {
      command: python,
      args: ['-m', 'awslambdaric', spec.handler],
      executionEnv: `AWS_Lambda_${spec.runtime}`,
      runtimeVersion: `python:${spec.runtime.slice('python'.length)}.v1`,
      runtimeDir: dirname(python),
      pathDirs: [dirname(python)],
    };
  }
  const bootstrap = join(spec.codeDir, 'bootstrap');
  return {
    command: bootstrap,
    args: [],
    runtimeVersion: `${spec.runtime.replace('.', ':')}.v1`,
    runtimeDir: spec.codeDir,
    pathDirs: [],
  };
}

/** Resolves a command name against a PATH; absolute paths are returned as they are. */
export function findExecutable(name: string, searchPath: string): string {
  if (isAbsolute(name)) return name;
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  throw new SluiceError('ENVIRONMENT_FAILED', `Cannot find "${name}" on PATH`, {
    context: { name, hint: 'set SLUICE_PYTHON to the python3 that has awslambdaric installed' },
  });
}
