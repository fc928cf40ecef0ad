import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEnvironment } from '../../src/invoker/environment.ts';
import { EnvironmentPool } from '../../src/invoker/environment-pool.ts';
import { resolveRuntime } from '../../src/invoker/runtimes/runtimes.ts';
import {
  setSpareIdleMs,
  spareCounters,
  sparePids,
  stopSpares,
  whenSpareReady,
} from '../../src/invoker/spare-processes.ts';
import type { FunctionSpec } from '../../src/invoker/types.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { fixtureSpec, payloadJson, readySpare, startEnvironment } from './environment-harness.ts';
import { eventually } from '../support/eventually.ts';

interface Probe {
  pid: number;
  cwd: string;
  argv: string[];
  execArgv: string[];
  envKeys: string[];
  tzOffsetMinutes: number;
  locale: string;
  maxHeaderSize: number;
  heapLimitMb: number;
}

const probeSpec = (overrides: Partial<FunctionSpec> = {}): FunctionSpec =>
  fixtureSpec('node-cjs', { handler: 'index.probe', ...overrides });

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts an environment, runs the probe handler once, and says whether a spare was taken. */
async function probe(spec: FunctionSpec): Promise<{ seen: Probe; tookSpare: boolean }> {
  const taken = spareCounters.taken;
  const h = startEnvironment(spec);
  await h.env.init();
  const result = await h.invoke();
  expect(result.ok).toBe(true);
  return { seen: payloadJson(result) as unknown as Probe, tookSpare: spareCounters.taken > taken };
}

beforeEach(() => stopSpares());
afterEach(() => {
  delete process.env.SLUICE_WARM_SPARES;
  setSpareIdleMs(5 * 60_000);
});
afterAll(() => stopSpares());

describe('warm spare processes (Node)', () => {
  it('runs the second cold start in the spare the first one left waiting', async () => {
    const spec = probeSpec();
    const first = await probe(spec);
    expect(first.tookSpare).toBe(false);
    // The first cold start had none, so once its first invoke was answered it started one.
    await eventually(() => sparePids().length === 1, 'one warm spare');
    const sparePid = await whenSpareReady(resolveRuntime(spec));

    const h = startEnvironment(spec);
    await h.env.init();
    const result = await h.invoke({}, 'spare-cold');
    expect((payloadJson(result) as unknown as Probe).pid).toBe(sparePid);
    // Still a cold start to the function: one INIT_START, Init Duration on the REPORT.
    expect(h.logs.filter((l) => l.text.startsWith('INIT_START '))).toHaveLength(1);
    expect(result.report.initDurationMs).toBeGreaterThan(0);
    expect(h.logs.find((l) => l.text.startsWith('REPORT '))?.text).toMatch(
      /^REPORT RequestId: spare-cold\t.*\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms$/,
    );
    expect(result.report.maxMemoryUsedMb).toBeGreaterThan(10);
  });

  it("sends a spare's console lines to its environment's log, tagged with the request", async () => {
    const spec = probeSpec({ handler: 'index.multiline' });
    await readySpare(spec);
    const taken = spareCounters.taken;
    const h = startEnvironment(spec);
    await h.env.init();
    const result = await h.invoke({}, 'spare-lines');
    expect(spareCounters.taken).toBe(taken + 1);
    const own = h.logs.filter((l) => l.source === 'function' && l.requestId === 'spare-lines');
    expect(own.map((l) => l.text.split('\t').slice(1).join('\t'))).toEqual([
      'spare-lines\tINFO\tline one\nline two',
      'spare-lines\tERROR\tan error line',
      'spare-lines\tWARN\ta warn line',
    ]);
    expect(result.logTail).toContain('line one\nline two');
  });

  it('starts the function in a spare exactly as a spawn would: cwd, argv, heap flags, TZ', async () => {
    const spec = probeSpec({ environment: { TZ: 'America/New_York', DECLARED: 'x' } });
    process.env.SLUICE_WARM_SPARES = '0';
    const spawned = await probe(spec);
    delete process.env.SLUICE_WARM_SPARES;
    const sparePid = await readySpare(spec);
    const spared = await probe(spec);
    expect(spawned.tookSpare).toBe(false);
    expect(spared.tookSpare).toBe(true);
    expect(spared.seen.pid).toBe(sparePid);
    expect(spared.seen.cwd).toBe(spec.codeDir);
    expect(spared.seen.tzOffsetMinutes).toBe(300);
    expect(spared.seen.locale).toBe('en-US');
    const { pid: _spawnedPid, ...spawnedRest } = spawned.seen;
    const { pid: _sparedPid, ...sparedRest } = spared.seen;
    expect(sparedRest).toEqual(spawnedRest);
  });

  it.each([
    ['NODE_OPTIONS', '--max-http-header-size=12345', (p: Probe) => p.maxHeaderSize === 12345],
    ['LANG', 'de_DE.UTF-8', (p: Probe) => p.locale === 'de-DE'],
  ])(
    'spawns normally when the function declares %s (read only at start-up)',
    async (name, value, applied) => {
      const spec = probeSpec({ environment: { [name]: value } });
      const sparePid = await readySpare(spec);
      const { seen, tookSpare } = await probe(spec);
      expect(tookSpare).toBe(false);
      expect(seen.pid).not.toBe(sparePid);
      expect(applied(seen)).toBe(true);
      // The spare is left for a function that can use it.
      expect(sparePids()).toContain(sparePid);
    },
  );

  it('is off with SLUICE_WARM_SPARES=0: no spare taken, none started', async () => {
    const spec = probeSpec();
    const sparePid = await readySpare(spec);
    process.env.SLUICE_WARM_SPARES = '0';
    const started = spareCounters.started;
    const { seen, tookSpare } = await probe(spec);
    await new Promise((resolve) => setImmediate(resolve));
    expect(tookSpare).toBe(false);
    expect(seen.pid).not.toBe(sparePid);
    expect(spareCounters.started).toBe(started);
  });

  it.each([
    ['node-timeout', 'Sandbox.Timedout', { timeoutMs: 1000 }],
    ['node-crash', 'Runtime.ExitError', {}],
    ['node-oom', 'Runtime.OutOfMemory', { memorySizeMb: 128, timeoutMs: 20_000 }],
  ] as const)(
    '%s in a spare still fails as %s and the environment dies',
    async (fixture, errorType, overrides) => {
      const spec = fixtureSpec(fixture, overrides);
      await readySpare(spec);
      const taken = spareCounters.taken;
      const h = startEnvironment(spec);
      await h.env.init();
      expect(spareCounters.taken).toBe(taken + 1);
      const result = await h.invoke({}, 'req-fail');
      expect(!result.ok && result.error.errorType).toBe(errorType);
      if (errorType === 'Runtime.OutOfMemory') expect(result.report.maxMemoryUsedMb).toBe(128);
      await eventually(() => h.env.state === 'dead', 'the environment dead');
    },
  );

  it('kills a spare nobody took after the idle time; the next cold start spawns', async () => {
    setSpareIdleMs(100);
    const spec = probeSpec();
    const sparePid = await readySpare(spec);
    await eventually(() => !isAlive(sparePid), 'the spare process gone');
    expect(sparePids()).not.toContain(sparePid);
    const { tookSpare } = await probe(spec);
    expect(tookSpare).toBe(false);
  });

  it('kills the spares when the environment pool stops', async () => {
    const spec = probeSpec({ name: 'fn-pool-spare' });
    const pool = new EnvironmentPool({
      createEnvironment,
      onLog: () => undefined,
      logger: silentLogger(),
    });
    pool.register(spec);
    const lease = await pool.acquire(spec.name);
    expect((await lease.env.invoke({ requestId: 'r', payload: Buffer.from('{}') })).ok).toBe(true);
    pool.release(lease.env);
    await eventually(() => sparePids().length === 1, 'one warm spare');
    const sparePid = (await whenSpareReady(resolveRuntime(spec))) as number;
    expect(isAlive(sparePid)).toBe(true);
    await pool.stop();
    expect(sparePids()).toEqual([]);
    expect(isAlive(sparePid)).toBe(false);
  });
});
