import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { createEnvironment } from '../../src/invoker/environment.ts';
import { resolveRuntime } from '../../src/invoker/runtimes/runtimes.ts';
import { replenishSpare, whenSpareReady } from '../../src/invoker/spare-processes.ts';
import type {
  Environment,
  EnvironmentLogLine,
  EnvironmentOptions,
  FunctionSpec,
  InvokeResult,
} from '../../src/invoker/types.ts';

export const FUNCTIONS_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'functions',
);

export function fixtureSpec(fixture: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name: `fn-${fixture}`,
    runtime: 'nodejs22.x',
    handler: 'index.handler',
    codeDir: join(FUNCTIONS_DIR, fixture),
    memorySizeMb: 256,
    timeoutMs: 3000,
    environment: {},
    region: 'eu-west-1',
    accountId: '123456789012',
    idleTimeoutMs: 60_000,
    ...overrides,
  };
}

export interface Harness {
  env: Environment;
  logs: EnvironmentLogLine[];
  deaths: number;
  invoke(payload?: unknown, requestId?: string): Promise<InvokeResult>;
}

const live: Environment[] = [];

/** Every environment a test starts is shut down after it, even when the test failed. */
afterEach(async () => {
  await Promise.all(live.splice(0).map((env) => env.shutdown('spindown')));
});

export function startEnvironment(
  spec: FunctionSpec,
  extra: Partial<Omit<EnvironmentOptions, 'spec' | 'onLog'>> = {},
): Harness {
  const harness: Harness = {
    env: undefined as unknown as Environment,
    logs: [],
    deaths: 0,
    invoke: (payload = {}, requestId = randomUUID()) =>
      harness.env.invoke({ requestId, payload: Buffer.from(JSON.stringify(payload)) }),
  };
  harness.env = createEnvironment({
    spec,
    initializationType: 'on-demand',
    shutdownGraceMs: 500,
    onLog: (line) => harness.logs.push(line),
    onDead: () => (harness.deaths += 1),
    ...extra,
  });
  live.push(harness.env);
  return harness;
}

export function payloadJson(result: InvokeResult): Record<string, unknown> {
  return JSON.parse(result.payload.toString('utf8')) as Record<string, unknown>;
}

/**
 * Makes sure a warm spare for `spec`'s launch signature is waiting and returns its pid: the
 * environment started next for that signature runs in this process.
 */
export async function readySpare(spec: FunctionSpec): Promise<number> {
  const launch = resolveRuntime(spec);
  replenishSpare(launch);
  const pid = await whenSpareReady(launch);
  if (pid === undefined) throw new Error('the warm spare died before it was ready');
  return pid;
}
