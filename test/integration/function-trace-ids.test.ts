/**
 * #17 item 4: every invoke runs under an X-Ray trace header that reaches the function as
 * `_X_AMZN_TRACE_ID` (and `Lambda-Runtime-Trace-Id`, which AWS's runtime clients turn into it) —
 * the caller's `X-Amzn-Trace-Id` unchanged, or a new one per invoke. Driven through a real engine
 * with the AWS SDK v3 Lambda client, against sluice's Node runtime, AWS's Python runtime client
 * (awslambdaric) and an aws-lambda-go binary.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { w3cTraceId } from '../../src/lambda/trace-id.ts';
import { buildGoFunction } from '../fixtures/build-go.ts';
import { ensurePythonWithRic } from '../fixtures/python.ts';
import { eventually } from '../support/eventually.ts';
import { tempDir, type TempDir } from '../support/temp.ts';
import { lambdaClient, startEngine, type RunningEngine } from './api-harness.ts';

const XRAY = /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/;
const CALLER =
  'Root=1-6650a1b2-0123456789abcdef01234567;Parent=89abcdef01234567;Sampled=1;Lineage=a87bd80c:1';

/** Adds `X-Amzn-Trace-Id` to every request of `client` (as a traced caller's SDK would). */
function withTraceHeader(client: LambdaClient, header: string): LambdaClient {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string> };
      request.headers['X-Amzn-Trace-Id'] = header;
      return next(args);
    },
    { step: 'build', name: 'sluiceTestTraceHeader' },
  );
  return client;
}

async function invokeJson(
  client: LambdaClient,
  fn: string,
  event: unknown = {},
): Promise<{ env: string | null; context: string | null }> {
  const out = await client.send(
    new InvokeCommand({ FunctionName: fn, Payload: Buffer.from(JSON.stringify(event)) }),
  );
  expect(out.FunctionError).toBeUndefined();
  return JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8')) as {
    env: string | null;
    context: string | null;
  };
}

describe('trace ids reach functions (_X_AMZN_TRACE_ID)', () => {
  let dir: TempDir;
  let running: RunningEngine;
  let recordFile: string;

  beforeAll(async () => {
    dir = tempDir('sluice-trace-');
    recordFile = join(dir.path, 'async-traces.jsonl');
    const python = await ensurePythonWithRic();
    if (!python) throw new Error('python3 with awslambdaric is needed (test/fixtures/python.ts)');
    process.env.SLUICE_PYTHON = python;
    const goCode = await buildGoFunction('conformance-go');
    running = await startEngine(
      [
        'functions:',
        '  trace-node:',
        '    runtime: nodejs22.x',
        '    handler: index.trace',
        '    code: fidelity-node',
        '    environment:',
        `      RECORD_FILE: ${JSON.stringify(recordFile)}`,
        '  trace-python:',
        '    runtime: python3.11',
        '    handler: app.handler',
        '    code: conformance-python',
        '  trace-go:',
        '    runtime: provided.al2023',
        `    code: ${JSON.stringify(goCode)}`,
      ].join('\n'),
      dir.path,
    );
  }, 600_000);

  afterAll(async () => {
    await running?.stop();
    dir?.cleanup();
  });

  it('gives each synchronous invoke without a caller header its own X-Ray trace id', async () => {
    const client = lambdaClient(running.endpoint);
    const first = await invokeJson(client, 'trace-node');
    const second = await invokeJson(client, 'trace-node');
    expect(first.env).toMatch(XRAY);
    expect(first.context).toBe(first.env);
    expect(second.env).toMatch(XRAY);
    expect(second.env).not.toBe(first.env);
    // Its Root is also the W3C trace id sluice's own traces use.
    expect(w3cTraceId(first.env!)).toMatch(/^[0-9a-f]{32}$/);
  });

  it("passes the caller's X-Amzn-Trace-Id to the function unchanged", async () => {
    const client = withTraceHeader(lambdaClient(running.endpoint), CALLER);
    expect(await invokeJson(client, 'trace-node')).toEqual({ env: CALLER, context: CALLER });
  });

  it('reaches awslambdaric (Python) as _X_AMZN_TRACE_ID', async () => {
    const traced = withTraceHeader(lambdaClient(running.endpoint), CALLER);
    expect((await invokeJson(traced, 'trace-python', { action: 'trace' })).env).toBe(CALLER);
    const untraced = await invokeJson(lambdaClient(running.endpoint), 'trace-python', {
      action: 'trace',
    });
    expect(untraced.env).toMatch(XRAY);
  });

  it('reaches aws-lambda-go as _X_AMZN_TRACE_ID and the x-amzn-trace-id context value', async () => {
    const traced = withTraceHeader(lambdaClient(running.endpoint), CALLER);
    expect(await invokeJson(traced, 'trace-go', { action: 'trace' })).toEqual({
      env: CALLER,
      context: CALLER,
    });
    const untraced = await invokeJson(lambdaClient(running.endpoint), 'trace-go', {
      action: 'trace',
    });
    expect(untraced.env).toMatch(XRAY);
    expect(untraced.context).toBe(untraced.env);
  });

  it('keeps the accepted request trace id for an asynchronous invoke', async () => {
    const client = withTraceHeader(lambdaClient(running.endpoint), CALLER);
    const out = await client.send(
      new InvokeCommand({
        FunctionName: 'trace-node',
        InvocationType: 'Event',
        Payload: '{"record":true}',
      }),
    );
    expect(out.StatusCode).toBe(202);
    let lines: string[] = [];
    await eventually(() => {
      try {
        lines = readFileSync(recordFile, 'utf8').trim().split('\n');
      } catch {
        return false;
      }
      return lines.length >= 1;
    }, 'the asynchronous invoke recorded its trace id');
    expect(JSON.parse(lines[0]!)).toEqual({ env: CALLER, context: CALLER });
  });
});
