import {
  DeleteFunctionConcurrencyCommand,
  GetFunctionCommand,
  GetFunctionConcurrencyCommand,
  InvokeCommand,
  LambdaClient,
  ListFunctionsCommand,
  PutFunctionConcurrencyCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../../src/api/api-server.ts';
import { ConcurrencyController } from '../../src/invoker/concurrency.ts';
import { EnvironmentPool } from '../../src/invoker/environment-pool.ts';
import { Invoker } from '../../src/invoker/invoker.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { EngineMetrics } from '../../src/observability/metrics.ts';
import { FakeEnvironment } from './fakes/fake-environment.ts';
import { fakeSpec } from './fakes/fake-spec.ts';

const spec = (name: string) =>
  fakeSpec(name, { codeDir: '/code', memorySizeMb: 256, environment: { A: '1' } });

// The API layer at its seam: a real HTTP server and the real AWS SDK, environments faked (the
// integration tests drive the same routes with real environments).
describe('Lambda-compatible API (unit, fake environments)', () => {
  let server: ApiServer;
  let client: LambdaClient;
  let base: string;
  const enqueued: { functionName: string; payload: string }[] = [];
  let release: (() => void) | undefined;
  let holding: () => void = () => undefined;

  beforeAll(async () => {
    const metrics = new EngineMetrics();
    const logger = silentLogger();
    const pool = new EnvironmentPool({
      createEnvironment: (o) =>
        new FakeEnvironment(o, async (req) => {
          const event = JSON.parse(req.payload.toString()) as { fail?: boolean; hold?: boolean };
          if (event.hold) {
            await new Promise<void>((r) => {
              release = r;
              holding();
            });
          }
          if (event.fail) throw new Error('handler failed');
          return { echo: event, clientContext: req.clientContext ?? null };
        }),
      onLog: () => undefined,
      logger,
    });
    const invoker = new Invoker({
      concurrency: new ConcurrencyController({
        engineLimit: 20,
        reserved: { limited: 1 },
        minimumUnreserved: 10,
      }),
      pool,
      logger,
      metrics,
    });
    invoker.register(spec('echo'));
    invoker.register(spec('limited'));
    server = new ApiServer({
      host: '127.0.0.1',
      port: 0,
      invoker,
      region: 'us-east-1',
      accountId: '000000000000',
      logger,
      metrics,
      asyncSink: {
        enqueue: async (i) => {
          enqueued.push({ functionName: i.functionName, payload: i.payload.toString() });
        },
      },
    });
    const { port } = await server.start();
    base = `http://127.0.0.1:${port}`;
    client = new LambdaClient({
      endpoint: base,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await server.stop();
  });

  it('invokes RequestResponse and returns the result with the executed version', async () => {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: 'echo',
        Payload: Buffer.from('{"x":1}'),
        ClientContext: Buffer.from('{"custom":{"k":"v"}}').toString('base64'),
      }),
    );
    expect(out.StatusCode).toBe(200);
    expect(out.ExecutedVersion).toBe('$LATEST');
    expect(out.FunctionError).toBeUndefined();
    expect(JSON.parse(Buffer.from(out.Payload ?? []).toString())).toEqual({
      echo: { x: 1 },
      clientContext: '{"custom":{"k":"v"}}',
    });
  });

  it('accepts a full ARN and $LATEST, reports function errors with 200 + Unhandled', async () => {
    const out = await client.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:echo:$LATEST',
        Payload: Buffer.from('{"fail":true}'),
      }),
    );
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    expect(JSON.parse(Buffer.from(out.Payload ?? []).toString()).errorType).toBe('Error');
  });

  it('answers Event with 202 after the sink accepted it, and DryRun with 204', async () => {
    const ev = await client.send(
      new InvokeCommand({
        FunctionName: 'echo',
        InvocationType: 'Event',
        Payload: Buffer.from('{"a":2}'),
      }),
    );
    expect(ev.StatusCode).toBe(202);
    expect(enqueued).toContainEqual({ functionName: 'echo', payload: '{"a":2}' });
    const dry = await client.send(
      new InvokeCommand({ FunctionName: 'echo', InvocationType: 'DryRun' }),
    );
    expect(dry.StatusCode).toBe(204);
  });

  it('maps bad input to Lambda error names and statuses', async () => {
    await expect(client.send(new InvokeCommand({ FunctionName: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(
      client.send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{not json') })),
    ).rejects.toMatchObject({
      name: 'InvalidRequestContentException',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      client.send(
        new InvokeCommand({
          FunctionName: 'echo',
          Payload: Buffer.alloc(6 * 1024 * 1024 + 10, 32),
        }),
      ),
    ).rejects.toMatchObject({
      name: 'RequestTooLargeException',
      $metadata: { httpStatusCode: 413 },
    });
    await expect(
      client.send(
        new InvokeCommand({
          FunctionName: 'echo',
          InvocationType: 'Event',
          Payload: Buffer.from(`"${'a'.repeat(1024 * 1024)}"`),
        }),
      ),
    ).rejects.toMatchObject({ name: 'RequestTooLargeException' });
    const res = await fetch(`${base}/2015-03-31/functions/echo/invocations`, {
      method: 'POST',
      headers: { 'X-Amz-Invocation-Type': 'Sometimes' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('InvalidParameterValueException');
    const media = await fetch(`${base}/2015-03-31/functions/echo/invocations`, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/form-data' },
      body: '{}',
    });
    expect(media.status).toBe(415);
  });

  it('throttles over reserved concurrency with 429 and a Reason', async () => {
    const isHolding = new Promise<void>((r) => (holding = r));
    const held = client.send(
      new InvokeCommand({ FunctionName: 'limited', Payload: Buffer.from('{"hold":true}') }),
    );
    await isHolding; // the first invoke now occupies the only unit
    const err = await client
      .send(new InvokeCommand({ FunctionName: 'limited' }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      name: 'TooManyRequestsException',
      Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      $metadata: { httpStatusCode: 429 },
    });
    release?.();
    expect((await held).StatusCode).toBe(200);
  });

  it('lists and gets functions, and round-trips reserved concurrency', async () => {
    const list = await client.send(new ListFunctionsCommand({}));
    expect(list.Functions?.map((f) => f.FunctionName)).toEqual(['echo', 'limited']);
    const fn = await client.send(new GetFunctionCommand({ FunctionName: 'echo' }));
    expect(fn.Configuration).toMatchObject({ Runtime: 'nodejs22.x', MemorySize: 256, Timeout: 3 });
    await client.send(
      new PutFunctionConcurrencyCommand({ FunctionName: 'echo', ReservedConcurrentExecutions: 3 }),
    );
    expect(
      (await client.send(new GetFunctionConcurrencyCommand({ FunctionName: 'echo' })))
        .ReservedConcurrentExecutions,
    ).toBe(3);
    await expect(
      client.send(
        new PutFunctionConcurrencyCommand({
          FunctionName: 'echo',
          ReservedConcurrentExecutions: 15,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await client.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'echo' }));
    expect(
      (await client.send(new GetFunctionConcurrencyCommand({ FunctionName: 'echo' })))
        .ReservedConcurrentExecutions,
    ).toBeUndefined();
  });

  it('serves health, readiness and metrics', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/sluice_invocations_total\{function="echo"\}/);
  });
});
