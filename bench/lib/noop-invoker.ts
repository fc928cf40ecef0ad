import { fileURLToPath } from 'node:url';
import { ConcurrencyController } from '../../src/invoker/concurrency.ts';
import { createEnvironment } from '../../src/invoker/environment.ts';
import { EnvironmentPool } from '../../src/invoker/environment-pool.ts';
import { Invoker } from '../../src/invoker/invoker.ts';
import type { FunctionSpec } from '../../src/invoker/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { benchFunctionEnvironment } from './function-env.ts';

/** The benchmarks' no-op Node function (`bench/functions/noop`): it measures the engine only. */
export function noopSpec(name: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name,
    runtime: 'nodejs22.x',
    handler: 'index.handler',
    codeDir: fileURLToPath(new URL('../functions/noop/', import.meta.url)),
    memorySizeMb: 128,
    timeoutMs: 30_000,
    environment: benchFunctionEnvironment(),
    region: 'us-east-1',
    accountId: '000000000000',
    idleTimeoutMs: 600_000,
    ...overrides,
  };
}

/** A real invoker (child-process environments, no reservations) with the no-op function registered. */
export function noopInvoker(
  name: string,
  options: { engineLimit?: number; spec?: Partial<FunctionSpec> } = {},
): { invoker: Invoker; pool: EnvironmentPool } {
  const logger = silentLogger();
  const pool = new EnvironmentPool({ createEnvironment, onLog: () => undefined, logger });
  const invoker = new Invoker({
    concurrency: new ConcurrencyController({
      engineLimit: options.engineLimit ?? 100,
      reserved: {},
      minimumUnreserved: 0,
    }),
    pool,
    logger,
  });
  invoker.register(noopSpec(name, options.spec));
  return { invoker, pool };
}
