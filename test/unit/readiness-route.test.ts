import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../../src/api/api-server.ts';
import { decideReadiness, type MappingReadinessInput } from '../../src/engine/readiness.ts';
import { ConcurrencyController } from '../../src/invoker/concurrency.ts';
import { EnvironmentPool } from '../../src/invoker/environment-pool.ts';
import { Invoker } from '../../src/invoker/invoker.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { EngineMetrics } from '../../src/observability/metrics.ts';
import { FakeEnvironment } from './fakes/fake-environment.ts';

const QUEUE_URL = 'http://10.1.2.3:9324/000000000000/payments';
const down: MappingReadinessInput = {
  name: 'payments',
  state: 'Enabled',
  stateTransitionReason: 'EVENT_SOURCE_UNREACHABLE',
  lastProcessingResult: `PROBLEM: connect ECONNREFUSED for ${QUEUE_URL}`,
  sourceHealthy: false,
};

/** An API whose one mapping's source is down; `token` = the API's bearer token. */
async function serve(token: string | undefined) {
  const metrics = new EngineMetrics();
  const logger = silentLogger();
  const pool = new EnvironmentPool({
    createEnvironment: (o) => new FakeEnvironment(o, async () => null),
    onLog: () => undefined,
    logger,
  });
  const invoker = new Invoker({
    concurrency: new ConcurrencyController({ engineLimit: 5, reserved: {}, minimumUnreserved: 0 }),
    pool,
    logger,
  });
  const server = new ApiServer({
    host: '127.0.0.1',
    port: 0,
    ...(token === undefined ? {} : { authToken: token }),
    invoker,
    region: 'us-east-1',
    accountId: '000000000000',
    logger,
    metrics,
    readiness: (strict) =>
      decideReadiness({
        engineState: 'running',
        store: { ok: true },
        mappings: [down],
        strict: strict ?? false,
      }),
  });
  const { port } = await server.start();
  return { server, pool, base: `http://127.0.0.1:${port}` };
}

async function readyz(base: string, query = '', headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/readyz${query}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('/readyz with an API token', () => {
  let api: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    api = await serve('s3cret');
  });
  afterAll(async () => {
    await api.server.stop(0);
    await api.pool.stop();
  });

  it('answers anyone the bare status: a source outage keeps the worker ready, degraded', async () => {
    const r = await readyz(api.base);
    expect(r).toEqual({ status: 200, body: { ready: true, status: 'degraded' } });
    expect(JSON.stringify(r.body)).not.toContain('10.1.2.3');
  });

  it('gives a wrong token the bare status too', async () => {
    const r = await readyz(api.base, '', { Authorization: 'Bearer wrong' });
    expect(r.body).toEqual({ ready: true, status: 'degraded' });
  });

  it('shows the checks, each mapping with its state and reason, to the token holder', async () => {
    const r = await readyz(api.base, '', { Authorization: 'Bearer s3cret' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      ready: true,
      status: 'degraded',
      checks: {
        engine: { ok: true },
        'mapping:payments': {
          ok: false,
          health: 'degraded',
          state: 'Enabled',
          reason: 'EVENT_SOURCE_UNREACHABLE',
          detail: expect.stringContaining(QUEUE_URL),
        },
      },
    });
  });

  it('?strict=1 fails readiness on the degraded mapping (503), still without details', async () => {
    expect(await readyz(api.base, '?strict=1')).toEqual({
      status: 503,
      body: { ready: false, status: 'degraded' },
    });
    const authorised = await readyz(api.base, '?strict=1', { Authorization: 'Bearer s3cret' });
    expect(authorised.status).toBe(503);
    expect(authorised.body).toMatchObject({ strict: true, checks: { 'mapping:payments': {} } });
  });
});

describe('/readyz without an API token', () => {
  it('shows the checks to everyone (the whole API is open)', async () => {
    const api = await serve(undefined);
    try {
      const r = await readyz(api.base);
      expect(r.status).toBe(200);
      expect(r.body).toHaveProperty(['checks', 'mapping:payments', 'health'], 'degraded');
    } finally {
      await api.server.stop(0);
      await api.pool.stop();
    }
  });
});
