import type { FunctionSpec } from '../../../src/invoker/types.ts';

/** A function spec for tests over fake environments (no code folder is ever read). */
export function fakeSpec(name: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  return {
    name,
    runtime: 'nodejs22.x',
    handler: 'index.handler',
    codeDir: '/nowhere',
    memorySizeMb: 128,
    timeoutMs: 3000,
    environment: {},
    region: 'us-east-1',
    accountId: '000000000000',
    idleTimeoutMs: 60_000,
    ...overrides,
  };
}
