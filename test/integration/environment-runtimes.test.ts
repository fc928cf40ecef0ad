import { beforeAll, describe, expect, it } from 'vitest';
import { buildGoFunction } from '../fixtures/build-go.ts';
import { ensurePythonWithRic } from '../fixtures/python.ts';
import { fixtureSpec, payloadJson, startEnvironment } from './environment-harness.ts';

describe('Python runtime (awslambdaric, unchanged)', () => {
  let python: string | undefined;
  beforeAll(async () => {
    python = await ensurePythonWithRic();
    // The engine finds the interpreter through SLUICE_PYTHON.
    if (python) process.env.SLUICE_PYTHON = python;
  }, 600_000);

  it('answers through python3 -m awslambdaric, cold then warm', async () => {
    expect(python, 'python3 with awslambdaric (see test/fixtures/python.ts)').toBeTruthy();
    const h = startEnvironment(
      fixtureSpec('python-echo', {
        runtime: 'python3.11',
        handler: 'app.handler',
        memorySizeMb: 256,
      }),
    );
    await h.env.init();
    const cold = await h.invoke({ py: true }, 'req-py-1');
    expect(cold.ok).toBe(true);
    expect(payloadJson(cold)).toEqual({
      echo: { py: true },
      requestId: 'req-py-1',
      functionName: 'fn-python-echo',
      memoryLimitInMB: '256',
      executionEnv: 'AWS_Lambda_python3.11',
    });
    const warm = await h.invoke({ py: 2 }, 'req-py-2');
    expect(payloadJson(warm).requestId).toBe('req-py-2');
    expect(
      h.logs.some((l) => l.requestId === 'req-py-1' && l.text.includes('hello from python')),
    ).toBe(true);
    expect(warm.report.initDurationMs).toBeUndefined();
  });
});

describe('provided runtime (aws-lambda-go, unchanged)', () => {
  let codeDir: string;
  beforeAll(async () => {
    codeDir = await buildGoFunction('go-echo');
  }, 300_000);

  it('answers through an aws-lambda-go bootstrap on provided.al2023', async () => {
    const h = startEnvironment({
      ...fixtureSpec('go-echo', { runtime: 'provided.al2023', handler: 'bootstrap' }),
      codeDir,
    });
    await h.env.init();
    const first = await h.invoke({ go: 1 }, 'req-go-1');
    expect(first.ok).toBe(true);
    expect(payloadJson(first)).toEqual({
      echo: { go: 1 },
      requestId: 'req-go-1',
      functionName: 'fn-go-echo',
      runtime: '',
    });
    const second = await h.invoke({ go: 2 }, 'req-go-2');
    expect(payloadJson(second).requestId).toBe('req-go-2');
    expect(second.report.maxMemoryUsedMb).toBeGreaterThan(0);
  });
});
