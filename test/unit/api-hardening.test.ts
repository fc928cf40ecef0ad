/**
 * The API under hostile or odd clients: malformed names, too many connections, slow headers,
 * oversized bodies announced by Content-Length — and a slow function that must still answer.
 * A real HTTP server and raw sockets; environments are faked.
 */
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiServer, type ApiServerOptions } from '../../src/api/api-server.ts';
import { ConcurrencyController } from '../../src/invoker/concurrency.ts';
import { EnvironmentPool } from '../../src/invoker/environment-pool.ts';
import { Invoker } from '../../src/invoker/invoker.ts';
import { createLogger, silentLogger } from '../../src/observability/logger.ts';
import { EngineMetrics } from '../../src/observability/metrics.ts';
import { registerTriggers } from '../../src/api/trigger-routes.ts';
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
  const logger = limits.logger ?? silentLogger();
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

/** A logger at warn level whose lines the test reads. */
function warnings(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write: (chunk: Buffer, _enc, done) => {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ level: 'warn', destination }), lines };
}

/** A raw TCP client that collects what the server sends until it closes the connection. */
function rawClient(port: number): {
  socket: Socket;
  connected: Promise<void>;
  received: () => string;
  closed: Promise<string>;
} {
  const socket = connect(port, '127.0.0.1');
  cleanups.push(() => void socket.destroy());
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(data)));
  return { socket, connected, received: () => data, closed };
}

/** Resolves when `text` has arrived on the socket (or rejects when it closes without it). */
function waitFor(client: ReturnType<typeof rawClient>, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (client.received().includes(text)) {
        client.socket.off('data', check);
        resolve(client.received());
      }
    };
    client.socket.on('data', check);
    void client.closed.then((data) =>
      data.includes(text) ? resolve(data) : reject(new Error(`closed without ${text}: ${data}`)),
    );
    check();
  });
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

  it('closes connections over api.maxConnections on accept and serves those within it', async () => {
    const { port } = await startServer({ maxConnections: 2 });
    const request = 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n';
    const held = [rawClient(port), rawClient(port)];
    for (const client of held) {
      await client.connected;
      client.socket.write(request);
      await waitFor(client, '"status":"ok"');
    }
    const excess = rawClient(port);
    excess.socket.write(request);
    expect(await excess.closed).not.toContain('HTTP/1.1');
    // The held connections still work.
    held[0]?.socket.write(request);
    expect(await waitFor(held[0]!, 'HTTP/1.1 200')).toContain('HTTP/1.1 200');
  });

  it('cuts a client that sends its request head too slowly (408, connection closed)', async () => {
    const { port } = await startServer({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const slow = rawClient(port);
    slow.socket.write('POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: x\r\n');
    expect(await slow.closed).toMatch(/^(HTTP\/1\.1 408|$)/);
  });

  it('cuts a client that stalls its body past api.requestTimeoutMs', async () => {
    const { port } = await startServer({ headersTimeoutMs: 300, requestTimeoutMs: 600 });
    const slow = rawClient(port);
    slow.socket.write(
      'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{"',
    );
    expect(await slow.closed).not.toContain('HTTP/1.1 200');
  });

  it('answers 413 to an invoke whose Content-Length is over the limit before any body is sent', async () => {
    const { port } = await startServer();
    for (const [type, bytes] of [
      ['RequestResponse', 6 * 1024 * 1024 + 1],
      ['Event', 1024 * 1024 + 1],
    ] as const) {
      const client = rawClient(port);
      client.socket.write(
        `POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: x\r\n` +
          `X-Amz-Invocation-Type: ${type}\r\nContent-Length: ${bytes}\r\n\r\n`,
      );
      // The server answers and closes the connection without waiting for the body.
      const answer = await client.closed;
      expect(answer).toMatch(/^HTTP\/1\.1 413 /);
      expect(answer).toContain('x-amzn-ErrorType: RequestTooLargeException');
    }
  });

  it('answers Expect: 100-continue with 413 instead of inviting a body over the limit', async () => {
    const { port } = await startServer();
    const head = (bytes: number) =>
      `POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nHost: x\r\n` +
      `Expect: 100-continue\r\nContent-Length: ${bytes}\r\n\r\n`;
    const big = rawClient(port);
    big.socket.write(head(6 * 1024 * 1024 + 1));
    expect(await big.closed).toMatch(/^HTTP\/1\.1 413 /);
    // Within the limit the server invites the body and answers the invoke.
    const small = rawClient(port);
    small.socket.write(head(2));
    await waitFor(small, 'HTTP/1.1 100 Continue');
    small.socket.write('{}');
    expect(await waitFor(small, '{"echo":{}}')).toContain('HTTP/1.1 200 OK');
  });

  it('never cuts a RequestResponse invoke that waits for its function longer than every timeout', async () => {
    const { base } = await startServer({
      headersTimeoutMs: 200,
      requestTimeoutMs: 300,
      keepAliveTimeoutMs: 300,
    });
    const res = await fetch(`${base}/2015-03-31/functions/echo/invocations`, {
      method: 'POST',
      body: JSON.stringify({ sleepMs: 1500 }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ echo: { sleepMs: 1500 } });
  });

  it('refuses to serve the network without a token, and warns at start when opted in', async () => {
    await expect(startServer({ host: '0.0.0.0' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('api.authToken is required') as string,
    });
    const { logger, lines } = warnings();
    await startServer({ host: '0.0.0.0', allowUnauthenticated: true, logger });
    expect(lines.join('')).toContain('WITHOUT authentication');
  });

  it('warns at start for each push trigger served to the network without its own token', () => {
    const { logger, lines } = warnings();
    const trigger = (name: string, authToken: string | undefined) => ({
      name,
      type: 's3' as const,
      functionName: 'echo',
      path: `/triggers/s3/${name}`,
      authToken,
      events: ['s3:*'],
      filter: { prefix: '', suffix: '' },
      maxQueueDepth: 10,
    });
    registerTriggers(
      { route: () => undefined },
      {
        config: {
          region: 'us-east-1',
          api: { host: '0.0.0.0' },
          triggers: [trigger('open', undefined), trigger('guarded', 'tok')],
        },
        queue: { enqueue: async () => undefined, depth: async () => 0 },
        store: {
          triggerDedupSeen: async () => false,
          triggerDedupRemember: async () => undefined,
          triggerDedupPurge: async () => 0,
        },
        logger,
        registry: new Registry(),
      },
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"trigger":"open"');
  });
});
