/**
 * The contract every function runtime keeps under sluice's Runtime API, as vitest tests. A runtime's
 * test file calls `describeRuntimeConformance(name, setup)`; `setup` returns the spec of that
 * runtime's conformance function (test/fixtures/functions/conformance-*: one handler, the event
 * names what to do), or a reason to skip when the toolchain is missing. The same cases run for
 * every runtime, so the engine can rely on them whatever language a function is written in:
 *
 * - a result comes back as the payload, invoke after invoke in one warm environment;
 * - a handler error comes back as `{ errorType, errorMessage }` and the environment stays usable;
 * - an invoke past the timeout fails as `Sandbox.Timedout` and the environment dies;
 * - the function sees its configured and Lambda's reserved environment variables;
 * - a failed init fails the first invoke and the environment dies;
 * - the handler's context carries the request id, name, version, memory, ARN and remaining time;
 * - what the handler prints is logged under its request id.
 */
import { describe, expect, it } from 'vitest';
import { functionArn } from '../../src/invoker/lambda-env-vars.ts';
import type { FunctionSpec, InvokeResult } from '../../src/invoker/types.ts';
import { payloadJson, startEnvironment } from '../integration/environment-harness.ts';
import { eventually } from '../support/eventually.ts';

export interface RuntimeUnderTest {
  /** The runtime's conformance function; `overrides` set timeout, environment and the like. */
  spec(overrides?: Partial<FunctionSpec>): FunctionSpec;
}

/** A runtime, or why it cannot run here (its toolchain is missing): its cases are then skipped. */
export type RuntimeSetup = () => Promise<RuntimeUnderTest | { skip: string }>;

const SETUP_TIMEOUT_MS = 600_000;

type Failed = Extract<InvokeResult, { ok: false }>;

function failed(result: InvokeResult): Failed {
  if (result.ok) throw new Error(`expected a failed invoke, got ${result.payload.toString()}`);
  return result;
}

export function describeRuntimeConformance(name: string, setup: RuntimeSetup): void {
  describe(`runtime conformance: ${name}`, () => {
    let runtime: RuntimeUnderTest | undefined;
    let skipReason = '';
    let setupError: unknown;
    // Started once while the file is collected; every case awaits it (and fails if it failed).
    const prepared = setup().then(
      (got) => {
        if ('skip' in got) skipReason = got.skip;
        else runtime = got;
      },
      (error: unknown) => {
        setupError = error;
      },
    );

    /** Starts an initialised environment of the runtime's conformance function. */
    async function start(
      ctx: { skip: (note?: string) => never },
      overrides: Partial<FunctionSpec> = {},
    ) {
      await prepared;
      if (setupError !== undefined) throw setupError;
      if (!runtime) ctx.skip(skipReason);
      const spec = runtime!.spec(overrides);
      const h = startEnvironment(spec);
      await h.env.init();
      return { h, spec };
    }

    it(
      'returns the handler result as the payload, invoke after invoke in one warm environment',
      async (ctx) => {
        const { h } = await start(ctx);
        const value = { text: 'héllo', list: [1, 2.5, null, true], nested: { a: {} } };
        const cold = await h.invoke({ action: 'echo', value }, 'req-echo-1');
        expect(cold.ok).toBe(true);
        expect(payloadJson(cold)).toEqual({ echo: value });
        const warm = await h.invoke({ action: 'echo', value: 'again' }, 'req-echo-2');
        expect(payloadJson(warm)).toEqual({ echo: 'again' });
        expect(warm.report.initDurationMs).toBeUndefined();
      },
      SETUP_TIMEOUT_MS,
    );

    it('returns a handler error as { errorType, errorMessage } and stays usable', async (ctx) => {
      const { h } = await start(ctx);
      const result = failed(await h.invoke({ action: 'throw', message: 'boom' }, 'req-err'));
      expect(result.error).toMatchObject({ errorType: 'ConformanceError', errorMessage: 'boom' });
      expect(JSON.parse(result.payload.toString())).toMatchObject({
        errorType: 'ConformanceError',
        errorMessage: 'boom',
      });
      expect(h.env.state).not.toBe('dead');
      const next = await h.invoke({ action: 'echo', value: 1 }, 'req-after-err');
      expect(payloadJson(next)).toEqual({ echo: 1 });
    });

    it('fails an invoke past its timeout as Sandbox.Timedout; the environment dies', async (ctx) => {
      const { h } = await start(ctx, { timeoutMs: 1000 });
      const result = failed(await h.invoke({ action: 'sleep', ms: 30_000 }, 'req-timeout'));
      expect(result.error).toEqual({
        errorType: 'Sandbox.Timedout',
        errorMessage: 'RequestId: req-timeout Error: Task timed out after 1.00 seconds',
      });
      await eventually(() => h.env.state === 'dead', 'the timed-out environment dead');
    });

    it("sees its configured environment variables and Lambda's reserved ones", async (ctx) => {
      const { h, spec } = await start(ctx, {
        environment: { CONFORMANCE_VAR: 'v=1 ü', AWS_REGION: 'overridden' },
      });
      const names = [
        'CONFORMANCE_VAR',
        'AWS_REGION',
        'AWS_LAMBDA_FUNCTION_NAME',
        'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
        'AWS_LAMBDA_FUNCTION_VERSION',
        'AWS_LAMBDA_LOG_GROUP_NAME',
        '_HANDLER',
        'LAMBDA_TASK_ROOT',
        'TZ',
      ];
      const result = await h.invoke({ action: 'env', names }, 'req-env');
      expect(payloadJson(result)).toEqual({
        CONFORMANCE_VAR: 'v=1 ü',
        // Reserved variables win over the function's configuration, as on Lambda.
        AWS_REGION: spec.region,
        AWS_LAMBDA_FUNCTION_NAME: spec.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySizeMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
        _HANDLER: spec.handler,
        LAMBDA_TASK_ROOT: spec.codeDir,
        TZ: ':UTC',
      });
    });

    it('fails the first invoke when init fails; the environment dies', async (ctx) => {
      const { h } = await start(ctx, { environment: { CONFORMANCE_FAIL_INIT: '1' } });
      const result = failed(await h.invoke({ action: 'echo', value: 1 }, 'req-init'));
      expect(result.error.errorType).toMatch(/\S/);
      // Where the reason shows differs: a runtime that reports the init error (Node, Python) puts
      // it in the error; one that just exits (aws-lambda-go) leaves it in what it printed.
      await eventually(
        () =>
          [result.error.errorMessage, result.logTail, ...h.logs.map((l) => l.text)]
            .join('\n')
            .includes('conformance init failure'),
        'the init failure reason in the error or the logs',
      );
      await eventually(() => h.env.state === 'dead', 'the environment whose init failed dead');
    });

    it('gives the handler its context: request id, name, version, memory, ARN, time left', async (ctx) => {
      const { h, spec } = await start(ctx, { timeoutMs: 5000 });
      const result = await h.invoke({ action: 'context' }, 'req-ctx');
      const context = payloadJson(result);
      expect(context).toMatchObject({
        requestId: 'req-ctx',
        functionName: spec.name,
        functionVersion: '$LATEST',
        memoryLimitInMB: String(spec.memorySizeMb),
        invokedFunctionArn: functionArn(spec),
      });
      expect(context.remainingMs).toBeGreaterThan(0);
      expect(context.remainingMs).toBeLessThanOrEqual(5000);
    });

    it('logs what the handler prints under its request id', async (ctx) => {
      const { h } = await start(ctx);
      await h.invoke({ action: 'log', line: 'conformance log line 7f3a' }, 'req-log');
      await eventually(
        () =>
          h.logs.some(
            (l) => l.requestId === 'req-log' && l.text.includes('conformance log line 7f3a'),
          ),
        'the printed line logged under req-log',
      );
    });
  });
}
