/**
 * The API under hostile or odd clients: malformed names, too many connections, slow headers,
 * oversized bodies announced by Content-Length — and a slow function that must still answer.
 * A real HTTP server and raw sockets; environments are faked.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServer, type ApiServerOptions } from '../../src/api/api-server.ts';
import { ConcurrencyController } from '../../src/invoker/concurrency.ts';
import { EnvironmentPool } from '../../src/invoker/environment-pool.ts';
import { Invoker } from '../../src/invoker/invoker.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { EngineMetrics } from '../../src/observability/metrics.ts';
import { FakeEnvironment } from './fakes/fake-environment.ts';
import { fakeSpec } from './fakes/fake-spec.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server with one function `echo`; `{ "sleepMs": n }` makes it answer after n ms. */
async function startServer(
  limits: Partial<ApiServerOptions> = {},
): Promise<{ server: ApiServer; port: number; base: string }> {
  const logger = silentLogger();
  const metrics = new EngineMetrics();
  const pool = new EnvironmentPool({
    createEnvironment: (o) =>
      new FakeEnvironment(o, async (req) => {
        const event = JSON.parse(req.payload.toString()) as { sleepMs?: number };
        if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
        return { echo: event };
      }),
    onLog: () => undefined,
    logger,
  });
  const invoker = new Invoker({
    concurrency: new ConcurrencyController({ engineLimit: 10, reserved: {}, minimumUnreserved: 0 }),
    pool,
    logger,
    metrics,
  });
  invoker.register(fakeSpec('echo', { timeoutMs: 60_000 }));
  const server = new ApiServer({
    host: '127.0.0.1',
    port: 0,
    invoker,
    region: 'us-east-1',
    accountId: '000000000000',
    logger,
    metrics,
    asyncSink: { enqueue: async () => undefined },
    ...limits,
  });
  const { port } = await server.start();
  cleanups.push(() => server.stop());
  return { server, port, base: `http://127.0.0.1:${port}` };
}

describe('API hardening', () => {
  it('answers a function name that is not valid percent-encoding with 400, not 500', async () => {
    const { base } = await startServer();
    const res = await fetch(`${base}/2015-03-31/functions/%ZZ/invocations`, {
      method: 'POST',
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-errortype')).toBe('InvalidParameterValueException');
  });
});
