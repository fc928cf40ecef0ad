import { describe, expect, it } from 'vitest';
import { fixtureSpec, payloadJson, startEnvironment } from './environment-harness.ts';
import { eventually } from '../support/eventually.ts';

describe('environment failure modes', () => {
  it('times out with Sandbox.Timedout, dies, and a new environment answers next', async () => {
    const h = startEnvironment(fixtureSpec('node-timeout', { timeoutMs: 1000 }));
    await h.env.init();
    const result = await h.invoke({}, 'req-timeout');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: 'RequestId: req-timeout Error: Task timed out after 1.00 seconds',
    });
    expect(JSON.parse(result.payload.toString())).toEqual(result.error);
    expect(result.logTail).toContain('going to sleep');
    await eventually(() => h.env.state === 'dead', 'the environment dead');
    expect(h.deaths).toBe(1);
    await expect(h.invoke()).rejects.toMatchObject({ code: 'ENVIRONMENT_FAILED' });

    const next = startEnvironment(fixtureSpec('node-cjs'));
    await next.env.init();
    expect(next.env.id).not.toBe(h.env.id);
    expect((await next.invoke()).ok).toBe(true);
  });

  it('reports process.exit(1) during an invoke as Runtime.ExitError', async () => {
    const h = startEnvironment(fixtureSpec('node-crash'));
    await h.env.init();
    const result = await h.invoke({}, 'req-crash');
    expect(!result.ok && result.error).toEqual({
      errorType: 'Runtime.ExitError',
      errorMessage: 'RequestId: req-crash Error: Runtime exited with error: exit status 1',
    });
    expect(result.logTail).toContain('about to exit');
    await eventually(() => h.env.state === 'dead', 'the environment dead');
  });

  it('serves an init error (throw at module top level) as the first invoke, then dies', async () => {
    const h = startEnvironment(fixtureSpec('node-init-error'));
    await h.env.init();
    expect(h.env.state).toBe('idle');
    expect(h.logs.some((l) => l.text.startsWith('INIT_REPORT Init Duration: '))).toBe(true);
    const result = await h.invoke({}, 'req-init');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.errorType).toBe('Error');
    expect(result.error.errorMessage).toBe('init went wrong');
    expect(result.report.initDurationMs).toBeGreaterThan(0);
    await eventually(() => h.env.state === 'dead', 'the environment dead');
    expect(h.deaths).toBe(1);

    // The next environment re-runs init (and fails the same way, with its own INIT_START).
    const again = startEnvironment(fixtureSpec('node-init-error'));
    await again.env.init();
    expect(again.logs.filter((l) => l.text.startsWith('INIT_START'))).toHaveLength(1);
    expect((await again.invoke()).ok).toBe(false);
  });

  it('kills a function that allocates past memorySize: Runtime.OutOfMemory', async () => {
    const h = startEnvironment(fixtureSpec('node-oom', { memorySizeMb: 128, timeoutMs: 20_000 }));
    await h.env.init();
    const result = await h.invoke({}, 'req-oom');
    expect(!result.ok && result.error).toEqual({
      errorType: 'Runtime.OutOfMemory',
      errorMessage: 'RequestId: req-oom Error: Runtime exited with error: signal: killed',
    });
    expect(result.report.maxMemoryUsedMb).toBe(128);
    await eventually(() => h.env.state === 'dead', 'the environment dead');
  });

  it('reports an unhandled rejection as Runtime.UnhandledPromiseRejection and drops the environment', async () => {
    const h = startEnvironment(fixtureSpec('node-unhandled-rejection'));
    await h.env.init();
    const result = await h.invoke();
    expect(!result.ok && result.error).toMatchObject({
      errorType: 'Runtime.UnhandledPromiseRejection',
      errorMessage: 'Error: nobody caught me',
    });
    await eventually(() => h.env.state === 'dead', 'the environment dead');
  });

  it('fails init with Runtime.InvalidEntrypoint when a provided bootstrap is missing', async () => {
    const h = startEnvironment(fixtureSpec('node-cjs', { runtime: 'provided.al2023' }));
    await h.env.init();
    const result = await h.invoke({}, 'req-entry');
    expect(!result.ok && result.error.errorType).toBe('Runtime.InvalidEntrypoint');
    expect(!result.ok && result.error.errorMessage).toContain('fork/exec');
  });

  it('times out INIT after initTimeoutMs', async () => {
    const h = startEnvironment(fixtureSpec('node-cjs', { handler: 'index.handler' }), {
      initTimeoutMs: 1,
    });
    await h.env.init();
    const result = await h.invoke({}, 'req-init-timeout');
    expect(!result.ok && result.error.errorType).toBe('Sandbox.Timedout');
  });

  it('shuts down idempotently, removing its temporary folder', async () => {
    const h = startEnvironment(fixtureSpec('node-cjs', { handler: 'index.env' }));
    await h.env.init();
    const tmp = (payloadJson(await h.invoke()) as Record<string, string>).TMPDIR as string;
    const { existsSync } = await import('node:fs');
    expect(existsSync(tmp)).toBe(true);
    const first = h.env.shutdown('spindown');
    const second = h.env.shutdown('spindown');
    expect(second).toBe(first);
    await first;
    expect(h.env.state).toBe('dead');
    expect(existsSync(tmp)).toBe(false);
    expect(h.deaths).toBe(1);
  });
});
