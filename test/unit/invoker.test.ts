import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isSluiceError } from '../../src/errors.ts';
import { ConcurrencyController } from '../../src/invoker/concurrency.ts';
import { EnvironmentPool } from '../../src/invoker/environment-pool.ts';
import { Invoker } from '../../src/invoker/invoker.ts';
import { createLogger, silentLogger } from '../../src/observability/logger.ts';
import { EngineMetrics } from '../../src/observability/metrics.ts';
import type { InvokeRequest } from '../../src/invoker/types.ts';
import { FakeEnvironment } from './fakes/fake-environment.ts';
import { fakeSpec } from './fakes/fake-spec.ts';

const spec = (name: string, idleTimeoutMs = 60_000) => fakeSpec(name, { idleTimeoutMs });

function setup(
  handler: (n: number, request: InvokeRequest) => Promise<unknown>,
  limits = { engineLimit: 100, reserved: { f: 10 }, minimumUnreserved: 10 },
) {
  const created: FakeEnvironment[] = [];
  let now = 0;
  const metrics = new EngineMetrics();
  const pool = new EnvironmentPool({
    createEnvironment: (o) => {
      const env: FakeEnvironment = new FakeEnvironment(o, (req, self) =>
        handler(self.invokes, req),
      );
      created.push(env);
      return env;
    },
    onLog: () => undefined,
    logger: silentLogger(),
    metrics,
    now: () => now,
    reclaimIntervalMs: 3_600_000,
  });
  const invoker = new Invoker({
    concurrency: new ConcurrencyController(limits),
    pool,
    logger: silentLogger(),
    metrics,
  });
  invoker.register(spec('f'));
  return { invoker, pool, created, metrics, setNow: (t: number) => (now = t) };
}

describe('Invoker and EnvironmentPool', () => {
  it('reuses a warm environment for sequential invokes', async () => {
    const { invoker, created } = setup(async () => 'ok');
    const a = await invoker.invoke('f', { payload: Buffer.from('{}') });
    const b = await invoker.invoke('f', { payload: Buffer.from('{}') });
    expect(a.ok && b.ok).toBe(true);
    expect(created).toHaveLength(1);
    expect(created[0]?.invokes).toBe(2);
  });

  it('never runs more than the reserved concurrency; the rest throttle or wait as asked', async () => {
    let running = 0;
    let peak = 0;
    const { invoker } = setup(async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
      return 'ok';
    });
    const throttled = await Promise.allSettled(
      Array.from({ length: 50 }, () => invoker.invoke('f', { payload: Buffer.from('{}') })),
    );
    expect(throttled.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect(throttled.filter((r) => r.status === 'rejected')).toHaveLength(40);
    const waited = await Promise.all(
      Array.from({ length: 50 }, () =>
        invoker.invoke('f', { payload: Buffer.from('{}') }, { whenFull: 'wait' }),
      ),
    );
    expect(waited.every((r) => r.ok)).toBe(true);
    expect(peak).toBe(10);
  });

  it('drops a failed environment and starts a fresh one for the next invoke', async () => {
    let calls = 0;
    const { invoker, created } = setup(async () => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
      return 'ok';
    });
    const first = await invoker.invoke('f', { payload: Buffer.from('{}') });
    expect(first.ok).toBe(false);
    const second = await invoker.invoke('f', { payload: Buffer.from('{}') });
    expect(created).toHaveLength(2);
    expect(second.ok).toBe(true);
  });

  it('reclaims idle on-demand environments but keeps provisioned ones', async () => {
    const { invoker, pool, created, setNow } = setup(async () => 'ok');
    await pool.provision('f', 2);
    expect(created.map((e) => e.initializationType)).toEqual([
      'provisioned-concurrency',
      'provisioned-concurrency',
    ]);
    await Promise.all(
      [1, 2, 3].map(() =>
        invoker.invoke('f', { payload: Buffer.from('{}') }, { whenFull: 'wait' }),
      ),
    );
    setNow(Date.now() + 120_000);
    pool.reclaimIdle();
    expect(pool.counts('f')).toMatchObject({ idle: 2, provisioned: 2 });
    await pool.stop();
    expect(created.every((e) => e.state === 'dead')).toBe(true);
  });

  it('counts invocations, errors and throttles', async () => {
    const { invoker, metrics } = setup(async () => 'ok', {
      engineLimit: 10,
      reserved: { f: 0 },
      minimumUnreserved: 1,
    });
    await expect(invoker.invoke('f', { payload: Buffer.from('{}') })).rejects.toThrow();
    expect(await metrics.render()).toMatch(
      /sluice_throttles_total\{function="f",reason="ReservedFunctionConcurrentInvocationLimitExceeded"\} 1/,
    );
  });

  it('refuses unknown functions', async () => {
    const { invoker } = setup(async () => 'ok');
    await expect(invoker.invoke('nope', { payload: Buffer.from('{}') })).rejects.toThrow(
      /Function not found: nope/,
    );
  });

  it('work that reaches a stopped pool fails with SHUTDOWN and is not logged as an error', async () => {
    const lines: { level: number; msg: string }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        done();
      },
    });
    const pool = new EnvironmentPool({
      createEnvironment: (o) => new FakeEnvironment(o, async () => 'ok'),
      onLog: () => undefined,
      logger: silentLogger(),
      reclaimIntervalMs: 3_600_000,
    });
    const invoker = new Invoker({
      concurrency: new ConcurrencyController({
        engineLimit: 10,
        reserved: {},
        minimumUnreserved: 0,
      }),
      pool,
      logger: createLogger({ level: 'debug', destination }),
    });
    invoker.register(spec('f'));
    const reservation = await invoker.reserve('f');
    await pool.stop();
    const failure = await invoker.run(reservation, { payload: Buffer.from('{}') }).catch((e) => e);
    expect(isSluiceError(failure, 'SHUTDOWN')).toBe(true);
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
    expect(lines.map((l) => l.msg)).toContain('invoke failed in the engine');
  });

  it('gives each invoke without a trace id its own X-Ray trace header and keeps a given one', async () => {
    const seen: (string | undefined)[] = [];
    const { invoker } = setup(async (_n, request) => seen.push(request.traceId));
    const given = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    await invoker.invoke('f', { payload: Buffer.from('{}') });
    await invoker.invoke('f', { payload: Buffer.from('{}') });
    await invoker.invoke('f', { payload: Buffer.from('{}'), traceId: given });
    const xray = /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/;
    expect(seen[0]).toMatch(xray);
    expect(seen[1]).toMatch(xray);
    expect(seen[1]).not.toBe(seen[0]);
    expect(seen[2]).toBe(given);
  });
});
