/**
 * The Lambda-compatible Invoke API, driven by the real `@aws-sdk/client-lambda` (v3) against a
 * real engine with real Node execution environments. SDK retries are off (`maxAttempts: 1`) so
 * throttles and errors arrive as sluice sent them.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DeleteFunctionConcurrencyCommand,
  DeleteFunctionEventInvokeConfigCommand,
  GetFunctionConcurrencyCommand,
  GetFunctionEventInvokeConfigCommand,
  InvokeCommand,
  type InvokeCommandOutput,
  type LambdaClient,
  PutFunctionConcurrencyCommand,
  PutFunctionEventInvokeConfigCommand,
  UpdateFunctionEventInvokeConfigCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  API_HANDLERS,
  lambdaClient,
  startEngine,
  withBearerToken,
  type RunningEngine,
} from './api-harness.ts';
import { tempDir, type TempDir } from '../support/temp.ts';
import { eventually } from '../support/eventually.ts';

const text = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('utf8');
const json = (b: Uint8Array | undefined): Record<string, unknown> =>
  JSON.parse(text(b)) as Record<string, unknown>;
const payload = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));

/** The error the SDK threw, with its name, HTTP status and modelled fields. */
async function sdkError(p: Promise<unknown>): Promise<
  Error & {
    $metadata: { httpStatusCode?: number };
    $response?: { headers: Record<string, string> };
    Reason?: string;
    Type?: string;
  }
> {
  try {
    await p;
  } catch (err) {
    return err as Awaited<ReturnType<typeof sdkError>>;
  }
  throw new Error('expected the SDK call to fail');
}

describe('Invoke API with @aws-sdk/client-lambda', () => {
  let dir: TempDir;
  let running: RunningEngine;
  let client: LambdaClient;
  let recordFile: string;
  let startedFile: string;
  let releaseFile: string;

  beforeAll(async () => {
    dir = tempDir();
    recordFile = join(dir.path, 'records.txt');
    startedFile = join(dir.path, 'hold-started');
    releaseFile = join(dir.path, 'hold-release');
    const handler = (h: string) => `    runtime: nodejs22.x\n    handler: index.${h}\n`;
    const code = `    code: ${JSON.stringify(API_HANDLERS)}\n`;
    running = await startEngine(
      [
        'functions:',
        '  echo:',
        handler('echo') + code,
        '  fail:',
        handler('fail') + code,
        '  append:',
        handler('append') + code,
        '    environment:',
        `      RECORD_FILE: ${JSON.stringify(recordFile)}`,
        '  hold:',
        handler('hold') + code,
        '    timeout: 60',
        '    reservedConcurrency: 1',
        '    environment:',
        `      STARTED_FILE: ${JSON.stringify(startedFile)}`,
        `      RELEASE_FILE: ${JSON.stringify(releaseFile)}`,
      ].join('\n'),
      dir.path,
    );
    client = lambdaClient(running.endpoint);
  });

  afterAll(async () => {
    client?.destroy();
    // Never leave the held function waiting.
    if (releaseFile) writeFileSync(releaseFile, 'release');
    await running?.stop();
    dir?.cleanup();
  });

  it('RequestResponse returns the function result with status 200 and $LATEST', async () => {
    const out = await client.send(
      new InvokeCommand({ FunctionName: 'echo', Payload: payload({ hello: 'world' }) }),
    );
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBeUndefined();
    expect(out.ExecutedVersion).toBe('$LATEST');
    expect(json(out.Payload)).toMatchObject({ echo: { hello: 'world' } });
  });

  it('accepts the function as an ARN and with the $LATEST qualifier', async () => {
    const arn = 'arn:aws:lambda:us-east-1:000000000000:function:echo';
    const byArn = await client.send(new InvokeCommand({ FunctionName: arn, Payload: payload(1) }));
    expect(json(byArn.Payload)).toMatchObject({ echo: 1 });
    const qualified = await client.send(
      new InvokeCommand({ FunctionName: 'echo', Qualifier: '$LATEST', Payload: payload(2) }),
    );
    expect(json(qualified.Payload)).toMatchObject({ echo: 2 });
  });

  it('Event returns 202 at once and the event is then processed', async () => {
    const id = `event-${crypto.randomUUID()}`;
    const out = await client.send(
      new InvokeCommand({
        FunctionName: 'append',
        InvocationType: 'Event',
        Payload: payload({ id }),
      }),
    );
    expect(out.StatusCode).toBe(202);
    expect(text(out.Payload)).toBe('');
    await eventually(
      () => existsSync(recordFile) && readFileSync(recordFile, 'utf8').split('\n').includes(id),
      'the async event processed',
      { limitMs: 20_000 },
    );
  });

  it('DryRun returns 204 for a function that exists and 404 for one that does not', async () => {
    const out = await client.send(
      new InvokeCommand({ FunctionName: 'echo', InvocationType: 'DryRun', Payload: payload({}) }),
    );
    expect(out.StatusCode).toBe(204);
    expect(text(out.Payload)).toBe('');
    const err = await sdkError(
      client.send(new InvokeCommand({ FunctionName: 'missing', InvocationType: 'DryRun' })),
    );
    expect(err.name).toBe('ResourceNotFoundException');
  });

  it('LogType Tail returns the base64 log with START, the function line, END and REPORT', async () => {
    const out = await client.send(
      new InvokeCommand({ FunctionName: 'echo', LogType: 'Tail', Payload: payload({}) }),
    );
    const requestId = json(out.Payload).requestId as string;
    expect(out.LogResult).toBeDefined();
    const log = Buffer.from(out.LogResult ?? '', 'base64').toString('utf8');
    expect(log).toContain(`START RequestId: ${requestId}`);
    expect(log).toContain(`api-echo says hello to ${requestId}`);
    expect(log).toContain(`END RequestId: ${requestId}`);
    expect(log).toContain(`REPORT RequestId: ${requestId}`);
    expect(log.indexOf('START')).toBeLessThan(log.indexOf('api-echo says hello'));
    expect(log.indexOf('api-echo says hello')).toBeLessThan(log.indexOf('END RequestId'));
  });

  it('a function error is a 200 with FunctionError Unhandled and the Lambda error body', async () => {
    const out: InvokeCommandOutput = await client.send(
      new InvokeCommand({ FunctionName: 'fail', Payload: payload({ n: 7 }) }),
    );
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    const body = json(out.Payload);
    expect(body).toMatchObject({
      errorType: 'TypeError',
      errorMessage: 'api-fail refused {"n":7}',
    });
    expect(Array.isArray(body.trace ?? body.stackTrace)).toBe(true);
  });

  it('an unknown function is a 404 ResourceNotFoundException', async () => {
    const err = await sdkError(
      client.send(new InvokeCommand({ FunctionName: 'no-such-function', Payload: payload({}) })),
    );
    expect(err.name).toBe('ResourceNotFoundException');
    expect(err.$metadata.httpStatusCode).toBe(404);
    expect(err.message).toContain('function:no-such-function');
  });

  it('a sync payload over 6 MB is a 413 RequestTooLargeException', async () => {
    const big = payload('x'.repeat(6 * 1024 * 1024));
    const err = await sdkError(
      client.send(new InvokeCommand({ FunctionName: 'echo', Payload: big })),
    );
    expect(err.name).toBe('RequestTooLargeException');
    expect(err.$metadata.httpStatusCode).toBe(413);
    // The connection stays usable and the function still answers.
    const out = await client.send(new InvokeCommand({ FunctionName: 'echo', Payload: payload(3) }));
    expect(json(out.Payload)).toMatchObject({ echo: 3 });
  });

  it('an async payload over 1 MB is a 413 while a sync one of the same size is accepted', async () => {
    const big = payload({ id: 'too-big', pad: 'x'.repeat(1024 * 1024) });
    const err = await sdkError(
      client.send(
        new InvokeCommand({ FunctionName: 'append', InvocationType: 'Event', Payload: big }),
      ),
    );
    expect(err.name).toBe('RequestTooLargeException');
    expect(err.$metadata.httpStatusCode).toBe(413);
    const sync = await client.send(new InvokeCommand({ FunctionName: 'echo', Payload: big }));
    expect(sync.StatusCode).toBe(200);
    expect(sync.FunctionError).toBeUndefined();
  });

  it('over reserved concurrency is a 429 TooManyRequestsException with a Reason', async () => {
    // One invoke holds the function's only slot until the test releases it.
    const held = client.send(new InvokeCommand({ FunctionName: 'hold', Payload: payload({}) }));
    onTestFinished(() => writeFileSync(releaseFile, 'release'));
    await eventually(() => existsSync(startedFile), 'the held invoke started', { limitMs: 20_000 });

    const err = await sdkError(
      client.send(new InvokeCommand({ FunctionName: 'hold', Payload: payload({}) })),
    );
    expect(err.name).toBe('TooManyRequestsException');
    expect(err.$metadata.httpStatusCode).toBe(429);
    expect(err.Reason).toBe('ReservedFunctionConcurrentInvocationLimitExceeded');

    writeFileSync(releaseFile, 'release');
    const out = await held;
    expect(json(out.Payload)).toEqual({ released: true });
  });

  it('event-invoke-config Put, Get, Update and Delete round trip', async () => {
    const onFailure = 'arn:aws:lambda:us-east-1:000000000000:function:append';
    const put = await client.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'fail',
        MaximumRetryAttempts: 1,
        MaximumEventAgeInSeconds: 120,
        DestinationConfig: { OnFailure: { Destination: onFailure } },
      }),
    );
    expect(put).toMatchObject({
      FunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fail:$LATEST',
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 120,
      DestinationConfig: { OnFailure: { Destination: onFailure } },
    });
    expect(put.LastModified).toBeInstanceOf(Date);

    const got = await client.send(
      new GetFunctionEventInvokeConfigCommand({ FunctionName: 'fail' }),
    );
    expect(got).toMatchObject({
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 120,
      DestinationConfig: { OnFailure: { Destination: onFailure } },
    });

    const updated = await client.send(
      new UpdateFunctionEventInvokeConfigCommand({ FunctionName: 'fail', MaximumRetryAttempts: 0 }),
    );
    // Update merges: the age and the destination are kept.
    expect(updated).toMatchObject({
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 120,
      DestinationConfig: { OnFailure: { Destination: onFailure } },
    });

    await client.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: 'fail' }));
    const err = await sdkError(
      client.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'fail' })),
    );
    expect(err.name).toBe('ResourceNotFoundException');
    expect(err.$metadata.httpStatusCode).toBe(404);

    const bad = await sdkError(
      client.send(
        new PutFunctionEventInvokeConfigCommand({ FunctionName: 'fail', MaximumRetryAttempts: 3 }),
      ),
    );
    expect(bad.name).toBe('InvalidParameterValueException');
  });

  it('reserved concurrency Put, Get and Delete round trip', async () => {
    const before = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: 'echo' }));
    expect(before.ReservedConcurrentExecutions).toBeUndefined();
    const put = await client.send(
      new PutFunctionConcurrencyCommand({ FunctionName: 'echo', ReservedConcurrentExecutions: 5 }),
    );
    expect(put.ReservedConcurrentExecutions).toBe(5);
    const got = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: 'echo' }));
    expect(got.ReservedConcurrentExecutions).toBe(5);
    await client.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'echo' }));
    const after = await client.send(new GetFunctionConcurrencyCommand({ FunctionName: 'echo' }));
    expect(after.ReservedConcurrentExecutions).toBeUndefined();
    // The function still runs after its reservation is gone.
    const out = await client.send(new InvokeCommand({ FunctionName: 'echo', Payload: payload(4) }));
    expect(json(out.Payload)).toMatchObject({ echo: 4 });
  });
});

describe('Invoke API with a bearer token', () => {
  const token = 'sluice-test-token-0123456789';
  let dir: TempDir;
  let running: RunningEngine;

  beforeAll(async () => {
    dir = tempDir();
    running = await startEngine(
      [
        'functions:',
        '  echo:',
        '    runtime: nodejs22.x',
        '    handler: index.echo',
        `    code: ${JSON.stringify(API_HANDLERS)}`,
      ].join('\n'),
      dir.path,
      { authToken: token },
    );
  });

  afterAll(async () => {
    await running?.stop();
    dir?.cleanup();
  });

  it('refuses requests without the token with 401 and a wrong token with 403, saying nothing about functions', async () => {
    const plain = lambdaClient(running.endpoint);
    onTestFinished(() => plain.destroy());
    const known = await sdkError(
      plain.send(new InvokeCommand({ FunctionName: 'echo', Payload: payload({}) })),
    );
    const unknown = await sdkError(
      plain.send(new InvokeCommand({ FunctionName: 'no-such-function', Payload: payload({}) })),
    );
    for (const err of [known, unknown]) {
      expect(err.$metadata.httpStatusCode).toBe(401);
      expect(err.message).not.toMatch(/echo|no-such-function|function:/);
    }
    // A known and an unknown function get the same answer: existence does not leak.
    expect(unknown.name).toBe(known.name);
    expect(unknown.message).toBe(known.message);

    const wrong = withBearerToken(lambdaClient(running.endpoint), 'not-the-token');
    onTestFinished(() => wrong.destroy());
    const denied = await sdkError(
      wrong.send(new InvokeCommand({ FunctionName: 'echo', Payload: payload({}) })),
    );
    expect(denied.$metadata.httpStatusCode).toBe(403);
    expect(denied.message).not.toMatch(/echo|function:/);

    const raw = await fetch(`${running.endpoint}/2015-03-31/functions/`);
    expect(raw.status).toBe(401);
    expect(await raw.text()).not.toContain('echo');
    const metrics = await fetch(`${running.endpoint}/metrics`);
    expect(metrics.status).toBe(401);
    await metrics.text();
  });

  it('accepts the token sent by an SDK middleware, and /healthz stays open', async () => {
    const authed = withBearerToken(lambdaClient(running.endpoint), token);
    onTestFinished(() => authed.destroy());
    const out = await authed.send(
      new InvokeCommand({ FunctionName: 'echo', Payload: payload({ ok: 1 }) }),
    );
    expect(out.StatusCode).toBe(200);
    expect(json(out.Payload)).toMatchObject({ echo: { ok: 1 } });

    const health = await fetch(`${running.endpoint}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });
});
