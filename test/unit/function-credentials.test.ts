import { describe, expect, it } from 'vitest';
import { loadConfigFromString } from '../../src/app/config.ts';
import { buildLambdaEnv } from '../../src/invoker/lambda-env-vars.ts';
import type { FunctionSpec } from '../../src/invoker/types.ts';

const load = (lines: string[], env: Record<string, string> = {}) =>
  loadConfigFromString(
    [
      'functions:',
      '  f:',
      '    runtime: nodejs22.x',
      '    handler: index.handler',
      '    code: .',
      ...lines.map((l) => `    ${l}`),
    ].join('\n'),
    { env, dirExists: () => true },
  ).functions.f!;

const envOf = (spec: FunctionSpec) =>
  buildLambdaEnv({
    spec,
    initializationType: 'on-demand',
    runtimeApiAddress: '127.0.0.1:1',
    tmpDir: '/tmp/x',
    runtimeDir: '/rt',
    logStreamName: 's',
    pathDirs: [],
  });

const SLUICE_ENV = {
  AWS_ACCESS_KEY_ID: 'AKIDSLUICE',
  AWS_SECRET_ACCESS_KEY: 'sluice-secret',
  AWS_SESSION_TOKEN: 'sluice-token',
  WORKER_ID: 'AKIDWORKER',
  WORKER_SECRET: 'worker-secret',
};

describe('function AWS credentials (awsCredentials, awsEndpointUrl)', () => {
  it("gives a function no AWS keys unless configured, whatever sluice's environment holds", () => {
    const env = envOf(load([], SLUICE_ENV));
    expect(Object.keys(env).filter((k) => /^AWS_(ACCESS|SECRET|SESSION|ENDPOINT)/.test(k))).toEqual(
      [],
    );
  });

  it("copies sluice's own keys with fromEnvironment: true", () => {
    const env = envOf(load(['awsCredentials: { fromEnvironment: true }'], SLUICE_ENV));
    expect(env).toMatchObject({
      AWS_ACCESS_KEY_ID: 'AKIDSLUICE',
      AWS_SECRET_ACCESS_KEY: 'sluice-secret',
      AWS_SESSION_TOKEN: 'sluice-token',
    });
  });

  it('reads the named variables and sets AWS_ENDPOINT_URL', () => {
    const env = envOf(
      load(
        [
          'awsCredentials: { accessKeyIdVar: WORKER_ID, secretAccessKeyVar: WORKER_SECRET }',
          'awsEndpointUrl: http://127.0.0.1:9324',
        ],
        SLUICE_ENV,
      ),
    );
    expect(env).toMatchObject({
      AWS_ACCESS_KEY_ID: 'AKIDWORKER',
      AWS_SECRET_ACCESS_KEY: 'worker-secret',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9324',
    });
    expect(env.AWS_SESSION_TOKEN).toBeUndefined();
  });

  it("refuses credentials whose variables are not in sluice's environment", () => {
    expect(() => load(['awsCredentials: { fromEnvironment: true }'])).toThrow(
      /reads AWS_ACCESS_KEY_ID, which is not set/,
    );
    expect(() =>
      load(['awsCredentials: { accessKeyIdVar: WORKER_ID, secretAccessKeyVar: NOPE }'], SLUICE_ENV),
    ).toThrow(/reads NOPE, which is not set/);
  });

  it('refuses awsCredentials that name neither way, or both', () => {
    expect(() => load(['awsCredentials: { accessKeyIdVar: WORKER_ID }'], SLUICE_ENV)).toThrow(
      /needs fromEnvironment: true, or accessKeyIdVar and secretAccessKeyVar/,
    );
    expect(() =>
      load(['awsCredentials: { fromEnvironment: true, accessKeyIdVar: WORKER_ID }'], SLUICE_ENV),
    ).toThrow(/either fromEnvironment: true or the …Var names/);
  });
});
