/**
 * Execution-environment benchmark (issue 3). One run measures, side by side:
 * - warm invoke round trip p50/p99 through the invoker vs a bare loopback HTTP round trip between
 *   two processes (the floor); target: warm p50 within 2× the floor;
 * - cold start vs spawning a bare `node` process, target within 1.3×, measured both ways a Node
 *   environment starts: spawning its runtime (warm spares disabled) and handing the function to
 *   the warm spare process waiting for its memory size (src/invoker/spare-processes.ts);
 * - time to bring 50 environments up; memory per idle environment.
 * Lanes alternate and the first samples are discarded as warm-up.
 */
import { noopInvoker, noopSpec } from './lib/noop-invoker.ts';
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createEnvironment } from '../src/invoker/environment.ts';
import type { EnvironmentPool } from '../src/invoker/environment-pool.ts';
import type { Invoker } from '../src/invoker/invoker.ts';
import { processTree } from '../src/invoker/memory-watch.ts';
import { resolveRuntime } from '../src/invoker/runtimes/runtimes.ts';
import { replenishSpare, sparePids, whenSpareReady } from '../src/invoker/spare-processes.ts';
import type { FunctionSpec } from '../src/invoker/types.ts';
import { fingerprint } from './lib/fingerprint.ts';
import { report } from './lib/results.ts';
import { round, summarize, timeIt } from './lib/stats.ts';

const WARM_SAMPLES = Number(process.env.BENCH_WARM_SAMPLES ?? 2000);
const COLD_SAMPLES = Number(process.env.BENCH_COLD_SAMPLES ?? 15);
const FLEET = Number(process.env.BENCH_FLEET ?? 50);
const PAYLOAD = Buffer.from(JSON.stringify({ n: 1, pad: 'x'.repeat(1000) }));

const spec = (name: string): FunctionSpec => noopSpec(name, { environment: {} });

function makeInvoker(): { invoker: Invoker; pool: EnvironmentPool } {
  return noopInvoker('noop', { engineLimit: 1000, spec: { environment: {} } });
}

async function floorSamples(n: number): Promise<number[]> {
  const child = fork(fileURLToPath(new URL('./lib/echo-server.mjs', import.meta.url)), {
    stdio: 'ignore',
  });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m) => resolve((m as { port: number }).port)),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/',
          agent,
          headers: { 'Content-Length': PAYLOAD.length },
        },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(PAYLOAD);
    });
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await timeIt(once));
  agent.destroy();
  child.kill();
  return samples;
}

async function warmSamples(n: number): Promise<number[]> {
  const { invoker, pool } = makeInvoker();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const result = await invoker.invoke('noop', { payload: PAYLOAD }, { whenFull: 'wait' });
    samples.push(performance.now() - t);
    // A benchmark of failing invokes measures nothing: stop at the first failure.
    if (!result.ok) throw new Error(`bench invoke failed: ${JSON.stringify(result.error)}`);
  }
  await pool.stop();
  return samples;
}

async function bareNodeSpawn(): Promise<number> {
  const t = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    child.once('exit', () => resolve());
    child.once('error', reject);
  });
  return performance.now() - t;
}

/** Waits until the warm spare for the bench function's memory size is up (starting it if need be). */
async function spareReady(): Promise<void> {
  const launch = resolveRuntime(spec('noop'));
  replenishSpare(launch);
  if ((await whenSpareReady(launch)) === undefined) throw new Error('bench: warm spare died');
}

/**
 * One cold start: createEnvironment + init() until the runtime is ready, then the first invoke.
 * `spawn`: warm spares off, the runtime process is spawned. `spare`: a spare is waiting (the
 * caller made sure) and is taken; its own start-up happened earlier, outside the measurement.
 */
async function coldStart(
  mode: 'spawn' | 'spare',
): Promise<{ initMs: number; firstInvokeMs: number }> {
  if (mode === 'spawn') process.env.SLUICE_WARM_SPARES = '0';
  else delete process.env.SLUICE_WARM_SPARES;
  const t0 = performance.now();
  const env = createEnvironment({
    spec: spec('noop'),
    initializationType: 'on-demand',
    onLog: () => undefined,
  });
  await env.init();
  const initMs = performance.now() - t0;
  delete process.env.SLUICE_WARM_SPARES;
  const t = performance.now();
  const first = await env.invoke({ requestId: crypto.randomUUID(), payload: PAYLOAD });
  if (!first.ok) throw new Error(`bench cold invoke failed: ${JSON.stringify(first.error)}`);
  const firstInvokeMs = initMs + (performance.now() - t);
  await env.shutdown('spindown');
  return { initMs, firstInvokeMs };
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function fleet(n: number): Promise<{ upMs: number; rssPerEnvMiB: number }> {
  const { pool } = makeInvoker();
  const upMs = await timeIt(() => pool.provision('noop', n));
  await new Promise((r) => setTimeout(r, 500));
  // The one warm spare waiting for the next cold start is not an environment: left out.
  const spares = new Set(sparePids());
  const pids = processTree([process.pid]).filter((p) => p !== process.pid && !spares.has(p));
  const total = pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
  await pool.stop();
  return { upMs, rssPerEnvMiB: total / n / 2 ** 20 };
}

async function main(): Promise<void> {
  // Alternate floor and engine lanes in rounds; drop the first round as warm-up.
  const rounds = 4;
  const per = Math.ceil(WARM_SAMPLES / rounds);
  const floor: number[] = [];
  const warm: number[] = [];
  await floorSamples(200);
  await warmSamples(200);
  for (let r = 0; r < rounds; r++) {
    floor.push(...(await floorSamples(per)));
    warm.push(...(await warmSamples(per)));
  }
  const bare: number[] = [];
  const init: number[] = [];
  const firstInvoke: number[] = [];
  const spareInit: number[] = [];
  const spareFirstInvoke: number[] = [];
  await spareReady();
  await bareNodeSpawn();
  await coldStart('spawn');
  await coldStart('spare');
  for (let i = 0; i < COLD_SAMPLES; i++) {
    // Every lane starts with the spare up and idle, so no spawn of a spare runs alongside.
    await spareReady();
    bare.push(await bareNodeSpawn());
    const c = await coldStart('spawn');
    init.push(c.initMs);
    firstInvoke.push(c.firstInvokeMs);
    const w = await coldStart('spare');
    spareInit.push(w.initMs);
    spareFirstInvoke.push(w.firstInvokeMs);
  }
  const f = await fleet(FLEET);

  const fl = summarize(floor);
  const wm = summarize(warm);
  const bs = summarize(bare);
  const ci = summarize(init);
  const cf = summarize(firstInvoke);
  const si = summarize(spareInit);
  const sf = summarize(spareFirstInvoke);
  const data = {
    fingerprint: fingerprint(),
    warmInvokeMs: wm,
    floorHttpRoundTripMs: fl,
    warmP50RatioToFloor: wm.p50 / fl.p50,
    bareNodeSpawnMs: bs,
    coldInitMs: ci,
    coldFirstInvokeMs: cf,
    coldInitRatioToBareNode: ci.p50 / bs.p50,
    coldInitWarmSpareMs: si,
    coldFirstInvokeWarmSpareMs: sf,
    coldInitWarmSpareRatioToBareNode: si.p50 / bs.p50,
    fleet: { environments: FLEET, upMs: f.upMs, rssPerIdleEnvironmentMiB: f.rssPerEnvMiB },
  };
  const table = [
    `### Execution environments (${data.fingerprint.cpu}, Node ${process.version})`,
    '',
    '| Measure | p50 | p99 | Ratio | Target |',
    '|---|---|---|---|---|',
    `| Bare loopback HTTP round trip, 2 processes (floor) | ${round(fl.p50)} ms | ${round(fl.p99)} ms | 1 | |`,
    `| Warm invoke round trip (invoker → environment → result) | ${round(wm.p50)} ms | ${round(wm.p99)} ms | ${round(data.warmP50RatioToFloor, 2)}× floor | ≤ 2× |`,
    `| Bare \`node -e ""\` spawn to exit | ${round(bs.p50, 1)} ms | ${round(bs.p99, 1)} ms | 1 | |`,
    `| Cold start, spawned (spares off): createEnvironment + init → runtime ready | ${round(ci.p50, 1)} ms | ${round(ci.p99, 1)} ms | ${round(data.coldInitRatioToBareNode, 2)}× bare node | ≤ 1.3× |`,
    `| Cold start, spawned, incl. first invoke | ${round(cf.p50, 1)} ms | ${round(cf.p99, 1)} ms | | |`,
    `| Cold start, warm spare waiting: createEnvironment + init → runtime ready | ${round(si.p50, 1)} ms | ${round(si.p99, 1)} ms | ${round(data.coldInitWarmSpareRatioToBareNode, 2)}× bare node | ≤ 1.3× |`,
    `| Cold start, warm spare, incl. first invoke | ${round(sf.p50, 1)} ms | ${round(sf.p99, 1)} ms | | |`,
    `| ${FLEET} environments up (in parallel) | ${round(f.upMs, 0)} ms total | | | |`,
    `| Memory per idle environment (RSS) | ${round(f.rssPerEnvMiB, 1)} MiB | | | |`,
  ].join('\n');
  report('invoke', data, table);
}

await main();
