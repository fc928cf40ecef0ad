import { describe, expect, it } from 'vitest';
import { spareCounters, stopSpares } from '../../src/invoker/spare-processes.ts';
import { MAX_RESPONSE_BYTES } from '../../src/runtime-api/protocol.ts';
import { fixtureSpec, payloadJson, readySpare, startEnvironment } from './environment-harness.ts';

describe('Node environment: handlers answer', () => {
  it('runs a CommonJS async handler with the full context', async () => {
    const h = startEnvironment(fixtureSpec('node-cjs', { memorySizeMb: 192 }));
    await h.env.init();
    expect(h.env.state).toBe('idle');
    const result = await h.env.invoke({
      requestId: 'req-cjs',
      payload: Buffer.from('{"hello":"world"}'),
      clientContext: '{"custom":{"k":"v"}}',
      cognitoIdentity: '{"cognitoIdentityId":"abc","cognitoIdentityPoolId":"pool"}',
      traceId: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
    });
    expect(result.ok).toBe(true);
    const body = payloadJson(result);
    expect(body).toMatchObject({
      echo: { hello: 'world' },
      requestId: 'req-cjs',
      functionName: 'fn-node-cjs',
      functionVersion: '$LATEST',
      memoryLimitInMB: '192',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:fn-node-cjs',
      logGroupName: '/aws/lambda/fn-node-cjs',
      clientContext: { custom: { k: 'v' } },
      identity: { cognitoIdentityId: 'abc', cognitoIdentityPoolId: 'pool' },
      traceId: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
    });
    expect(body.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    expect(body.remainingMs).toBeGreaterThan(0);
    expect(body.remainingMs).toBeLessThanOrEqual(3000);
  });

  it('runs an ES module handler (.mjs, top-level await)', async () => {
    const h = startEnvironment(fixtureSpec('node-esm-mjs'));
    await h.env.init();
    const result = await h.invoke({ n: 1 });
    expect(payloadJson(result)).toEqual({ kind: 'esm-mjs', echo: { n: 1 } });
  });

  it('runs a .js handler as ESM when package.json says "type": "module"', async () => {
    const h = startEnvironment(fixtureSpec('node-esm-type-module', { handler: 'app.handler' }));
    await h.env.init();
    const result = await h.invoke({ n: 2 });
    expect(payloadJson(result)).toEqual({
      kind: 'esm-type-module',
      file: 'app.js',
      echo: { n: 2 },
    });
  });

  it('resolves a nested handler path (index.nested.deep.fn)', async () => {
    const h = startEnvironment(fixtureSpec('node-cjs', { handler: 'index.nested.deep.fn' }));
    await h.env.init();
    const result = await h.invoke();
    expect(result.payload.toString()).toBe('"nested ok"');
  });

  it('answers a callback handler after the event loop empties (callbackWaitsForEmptyEventLoop)', async () => {
    const h = startEnvironment(fixtureSpec('node-cjs', { handler: 'index.callback' }));
    await h.env.init();
    const result = await h.invoke();
    expect(payloadJson(result)).toEqual({ callback: true, ticksAtCallback: 0 });
    // The pending timer ran before the result was posted, inside this invoke.
    const lines = h.logs.filter((l) => l.requestId === result.requestId).map((l) => l.text);
    expect(lines.some((t) => t.endsWith('\tINFO\ttimer fired'))).toBe(true);
  });

  it('answers at once when callbackWaitsForEmptyEventLoop is false', async () => {
    const h = startEnvironment(fixtureSpec('node-cjs', { handler: 'index.callbackNoWait' }));
    await h.env.init();
    const result = await h.invoke();
    expect(payloadJson(result)).toEqual({ noWait: true });
  });

  it('reuses the warm environment: same id, one INIT_START, Init Duration only on the cold REPORT', async () => {
    const h = startEnvironment(fixtureSpec('node-cjs'));
    await h.env.init();
    const cold = await h.invoke({}, 'cold-1');
    const warm = await h.invoke({}, 'warm-2');
    expect(cold.ok && warm.ok).toBe(true);
    expect(payloadJson(cold).pid).toBe(payloadJson(warm).pid);
    expect(h.env.state).toBe('idle');
    expect(new Set(h.logs.map((l) => l.environmentId))).toEqual(new Set([h.env.id]));
    expect(h.logs.filter((l) => l.text.startsWith('INIT_START Runtime Version: '))).toHaveLength(1);
    expect(cold.report.initDurationMs).toBeGreaterThan(0);
    expect(warm.report.initDurationMs).toBeUndefined();
    const reports = h.logs.filter((l) => l.text.startsWith('REPORT '));
    expect(reports[0]?.text).toMatch(
      /^REPORT RequestId: cold-1\tDuration: \d+\.\d{2} ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d{2} ms$/,
    );
    expect(reports[1]?.text).toMatch(
      /^REPORT RequestId: warm-2\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 256 MB\tMax Memory Used: \d+ MB$/,
    );
    expect(warm.report.maxMemoryUsedMb).toBeGreaterThan(10);
  });

  it('logs START, tagged console lines, END, REPORT and returns them as logTail', async () => {
    const h = startEnvironment(fixtureSpec('node-cjs', { handler: 'index.multiline' }));
    await h.env.init();
    const result = await h.invoke({}, 'req-logs');
    const own = h.logs.filter((l) => l.requestId === 'req-logs');
    expect(own[0]).toMatchObject({
      source: 'platform',
      text: 'START RequestId: req-logs Version: $LATEST',
    });
    const fn = own.filter((l) => l.source === 'function').map((l) => l.text);
    expect(fn[0]).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z\treq-logs\tINFO\tline one\nline two$/);
    expect(fn[1]).toMatch(/\treq-logs\tERROR\tan error line$/);
    expect(fn[2]).toMatch(/\treq-logs\tWARN\ta warn line$/);
    expect(own.at(-2)?.text).toBe('END RequestId: req-logs');
    expect(own.at(-1)?.text).toMatch(/^REPORT RequestId: req-logs\t/);
    expect(result.logTail.startsWith('START RequestId: req-logs')).toBe(true);
    expect(result.logTail).toContain('line one\nline two');
    expect(result.logTail.trimEnd().split('\n').at(-1)).toMatch(/^REPORT RequestId: req-logs/);
  });
});

describe('Node environment: function errors', () => {
  it('returns a thrown error as {errorType, errorMessage, trace} and stays usable', async () => {
    const h = startEnvironment(fixtureSpec('node-cjs', { handler: 'index.throws' }));
    await h.env.init();
    const result = await h.invoke();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.functionError).toBe('Unhandled');
    expect(result.error.errorType).toBe('TypeError');
    expect(result.error.errorMessage).toBe('handler exploded');
    expect(result.error.trace?.[0]).toBe('TypeError: handler exploded');
    expect(JSON.parse(result.payload.toString())).toMatchObject({ errorType: 'TypeError' });
    expect(h.env.state).toBe('idle');
    expect((await h.invoke()).ok).toBe(false);
  });

  it('returns a callback(error) as the function error', async () => {
    const h = startEnvironment(fixtureSpec('node-cjs', { handler: 'index.callbackError' }));
    await h.env.init();
    const result = await h.invoke();
    expect(!result.ok && result.error).toMatchObject({
      errorType: 'Error',
      errorMessage: 'callback failed',
    });
  });

  it.each(['circular', 'bigint'])(
    'turns a non-serialisable (%s) result into Runtime.JSONStringifyError',
    async (fn) => {
      const h = startEnvironment(fixtureSpec('node-cjs', { handler: `index.${fn}` }));
      await h.env.init();
      const result = await h.invoke();
      expect(!result.ok && result.error).toMatchObject({
        errorType: 'Runtime.JSONStringifyError',
        errorMessage: 'Unable to stringify response body',
      });
    },
  );

  it('fails a response over 6 MB with Function.ResponseSizeTooLarge', async () => {
    const h = startEnvironment(
      fixtureSpec('node-cjs', { handler: 'index.big', memorySizeMb: 512 }),
    );
    await h.env.init();
    const result = await h.invoke({ size: MAX_RESPONSE_BYTES });
    expect(!result.ok && result.error).toEqual({
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
    });
    const small = await h.invoke({ size: 10 });
    expect(small.payload.toString()).toBe(`"${'x'.repeat(10)}"`);
  });

  it.each([
    ['index.missing', 'Runtime.HandlerNotFound', 'index.missing is undefined or not exported'],
    ['index.notAFunction', 'Runtime.HandlerNotFound', 'index.notAFunction is not a function'],
    ['nope.handler', 'Runtime.ImportModuleError', "Error: Cannot find module 'nope'"],
    ['../index.handler', 'Runtime.MalformedHandlerName', "'../' not allowed in handler name"],
    ['index', 'Runtime.MalformedHandlerName', 'Bad handler'],
  ])('reports handler %s as %s on the first invoke', async (handler, errorType, message) => {
    const h = startEnvironment(fixtureSpec('node-cjs', { handler }));
    await h.env.init();
    const result = await h.invoke();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.errorType).toBe(errorType);
    expect(result.error.errorMessage.startsWith(message)).toBe(true);
  });
});

/** Every variable a Node function gets without declaring any (buildLambdaEnv). */
const LAMBDA_KEYS = [
  '_HANDLER',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
  'TZ',
  'LANG',
  'PATH',
  'TMPDIR',
];

describe('Node environment: variables', () => {
  // Both ways a Node runtime starts: a fresh spawn, and a warm spare that started before the
  // function (and the engine secret) existed and was handed the function's environment later.
  it.each(['spawned', 'warm spare'])(
    'gives the function its own and Lambda variables, never the engine env (%s)',
    async (path) => {
      process.env.SLUICE_TEST_ENGINE_SECRET = 'engine-only-token';
      const hadAwsSecret = process.env.AWS_SECRET_ACCESS_KEY !== undefined;
      process.env.AWS_SECRET_ACCESS_KEY ??= 'engine-aws-secret';
      const hadSpareSetting = process.env.SLUICE_WARM_SPARES;
      try {
        const spec = fixtureSpec('node-cjs', {
          handler: 'index.env',
          environment: { DECLARED: 'yes', TZ: 'Europe/Paris' },
        });
        await stopSpares();
        if (path === 'warm spare') await readySpare(spec);
        else process.env.SLUICE_WARM_SPARES = '0';
        const taken = spareCounters.taken;
        const h = startEnvironment(spec);
        await h.env.init();
        expect(spareCounters.taken - taken).toBe(path === 'warm spare' ? 1 : 0);
        const seen = payloadJson(await h.invoke()) as Record<string, string>;
        // Exactly the declared and the Lambda variables: nothing of the spare's or the engine's.
        expect(Object.keys(seen).sort()).toEqual([...LAMBDA_KEYS, 'DECLARED'].sort());
        expect(seen.DECLARED).toBe('yes');
        expect(seen.TZ).toBe('Europe/Paris');
        expect(seen).toMatchObject({
          _HANDLER: 'index.env',
          AWS_REGION: 'eu-west-1',
          AWS_DEFAULT_REGION: 'eu-west-1',
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
          AWS_LAMBDA_FUNCTION_NAME: 'fn-node-cjs',
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
          AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
          AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
          AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/fn-node-cjs',
          LAMBDA_TASK_ROOT: fixtureSpec('node-cjs').codeDir,
          LANG: 'en_US.UTF-8',
        });
        expect(seen.AWS_LAMBDA_RUNTIME_API).toMatch(/^127\.0\.0\.1:\d+$/);
        expect(seen.TMPDIR).toBeTruthy();
        expect(seen.LAMBDA_RUNTIME_DIR).toBeTruthy();
        expect(seen.PATH).toContain('/usr/bin');
        expect(seen.SLUICE_TEST_ENGINE_SECRET).toBeUndefined();
        expect(seen.AWS_SECRET_ACCESS_KEY).toBeUndefined();
        expect(seen.AWS_LAMBDA_MAX_CONCURRENCY).toBeUndefined();
        expect(seen.NODE_OPTIONS).toBeUndefined();
        expect(Object.values(seen)).not.toContain('engine-only-token');
      } finally {
        delete process.env.SLUICE_TEST_ENGINE_SECRET;
        if (!hadAwsSecret) delete process.env.AWS_SECRET_ACCESS_KEY;
        if (hadSpareSetting === undefined) delete process.env.SLUICE_WARM_SPARES;
        else process.env.SLUICE_WARM_SPARES = hadSpareSetting;
      }
    },
  );
});
