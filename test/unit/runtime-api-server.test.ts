import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RuntimeApiServer,
  type InvocationOutcome,
  type RuntimeInvocation,
} from '../../src/runtime-api/runtime-api-server.ts';
import { MAX_RESPONSE_BYTES, parseRoute } from '../../src/runtime-api/protocol.ts';
import { eventually } from '../support/eventually.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Real HTTP against the server; `chunks` sends a chunked body with optional trailers. */
function call(
  address: string,
  method: string,
  path: string,
  options: {
    body?: string | Buffer;
    chunks?: string[];
    headers?: Record<string, string>;
    trailers?: Record<string, string>;
  } = {},
): Promise<Reply> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port: Number(port), method, path, headers: options.headers },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    if (options.chunks) {
      for (const chunk of options.chunks) req.write(chunk);
      if (options.trailers) req.addTrailers(options.trailers);
      req.end();
    } else {
      req.end(options.body);
    }
  });
}

function invocation(requestId: string, payload = '{"a":1}'): RuntimeInvocation {
  return {
    requestId,
    payload: Buffer.from(payload),
    deadlineMs: 1_900_000_000_000,
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f',
    traceId: 'Root=1-abc;Parent=def;Sampled=0',
    clientContext: '{"custom":{"k":"v"}}',
    cognitoIdentity: '{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}',
  };
}

const NEXT_REQUEST = 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n';

/**
 * A runtime on a raw connection, as sluice's Node runtime behaves: it takes `requestId`'s event,
 * then writes its result and its next poll in one write, before any answer. `received()` is what
 * came back after that write.
 */
async function pipelinedRuntime(server: RuntimeApiServer, requestId: string) {
  const [host, port] = server.address.split(':');
  const socket = connect({ host, port: Number(port) });
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  server.dispatch(invocation(requestId, '{"n":1}'));
  socket.write(NEXT_REQUEST);
  await eventually(() => received.endsWith('{"n":1}'), 'the pipelined runtime got its event');
  received = '';
  socket.write(
    `POST /2018-06-01/runtime/invocation/${requestId}/response HTTP/1.1\r\nHost: x\r\n` +
      'Content-Length: 4\r\n\r\n"ok"' +
      NEXT_REQUEST,
  );
  return { socket, received: () => received };
}

let servers: RuntimeApiServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function startServer() {
  const outcomes: Array<{ requestId: string; outcome: InvocationOutcome }> = [];
  const initErrors: Array<{ body: string; errorType?: string }> = [];
  let ready = 0;
  const server = await RuntimeApiServer.start({
    functionName: 'f',
    handler: 'index.handler',
    listener: {
      onRuntimeReady: () => (ready += 1),
      onInvocationOutcome: (requestId, outcome) => outcomes.push({ requestId, outcome }),
      onInitError: (body, errorType) => initErrors.push({ body: body.toString(), errorType }),
    },
  });
  servers.push(server);
  return { server, outcomes, initErrors, ready: () => ready };
}

describe('runtime API server', () => {
  it('listens on a plain host:port of 127.0.0.1', async () => {
    const { server } = await startServer();
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('answers a held /next with the event and every Lambda header', async () => {
    const { server, ready } = await startServer();
    const next = call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    await eventually(() => ready() === 1, 'the runtime parked in /next');
    expect(ready()).toBe(1);
    server.dispatch(invocation('req-1'));
    const res = await next;
    expect(res.status).toBe(200);
    expect(res.body).toBe('{"a":1}');
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['lambda-runtime-aws-request-id']).toBe('req-1');
    expect(res.headers['lambda-runtime-deadline-ms']).toBe('1900000000000');
    expect(res.headers['lambda-runtime-invoked-function-arn']).toBe(
      'arn:aws:lambda:us-east-1:000000000000:function:f',
    );
    expect(res.headers['lambda-runtime-trace-id']).toBe('Root=1-abc;Parent=def;Sampled=0');
    expect(res.headers['lambda-runtime-client-context']).toBe('{"custom":{"k":"v"}}');
    expect(res.headers['lambda-runtime-cognito-identity']).toContain('cognitoIdentityId');
  });

  it('hands a queued invocation to the next poll and accepts the response with 202', async () => {
    const { server, outcomes } = await startServer();
    server.dispatch(invocation('req-2'));
    const next = await call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    expect(next.headers['lambda-runtime-aws-request-id']).toBe('req-2');
    const posted = await call(
      server.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-2/response',
      {
        body: '"hello"',
      },
    );
    expect(posted.status).toBe(202);
    expect(JSON.parse(posted.body)).toEqual({ status: 'OK' });
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.outcome).toEqual({ kind: 'response', body: Buffer.from('"hello"') });
  });

  it('refuses an unknown request id with 400 and a second post with 403', async () => {
    const { server } = await startServer();
    server.dispatch(invocation('req-3'));
    await call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const unknown = await call(
      server.address,
      'POST',
      '/2018-06-01/runtime/invocation/nope/response',
      {
        body: '1',
      },
    );
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body).errorType).toBe('InvalidRequestID');
    const first = await call(
      server.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-3/response',
      {
        body: '1',
      },
    );
    expect(first.status).toBe(202);
    const second = await call(
      server.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-3/error',
      {
        body: '{}',
      },
    );
    expect(second.status).toBe(403);
    expect(JSON.parse(second.body).errorType).toBe('InvalidStateTransition');
  });

  it('takes any /error post as a function error and keeps the error-type header', async () => {
    const { server, outcomes } = await startServer();
    server.dispatch(invocation('req-4'));
    await call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const body = '{"errorType":"TypeError","errorMessage":"x","trace":[]}';
    const posted = await call(
      server.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-4/error',
      {
        body,
        headers: { 'Lambda-Runtime-Function-Error-Type': 'TypeError' },
      },
    );
    expect(posted.status).toBe(202);
    expect(outcomes[0]?.outcome).toEqual({
      kind: 'error',
      body: Buffer.from(body),
      errorType: 'TypeError',
    });
  });

  it('answers 413 to a response over 6291556 bytes and reports it too large', async () => {
    const { server, outcomes } = await startServer();
    server.dispatch(invocation('req-5'));
    await call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const big = Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x61);
    const posted = await call(
      server.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-5/response',
      {
        body: big,
      },
    );
    expect(posted.status).toBe(413);
    expect(JSON.parse(posted.body).errorType).toBe('RequestEntityTooLarge');
    expect(outcomes[0]?.outcome).toEqual({ kind: 'too-large', sizeBytes: MAX_RESPONSE_BYTES + 1 });
  });

  it('accepts a response of exactly the limit', async () => {
    const { server, outcomes } = await startServer();
    server.dispatch(invocation('req-5b'));
    await call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const posted = await call(
      server.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-5b/response',
      {
        body: Buffer.alloc(MAX_RESPONSE_BYTES, 0x61),
      },
    );
    expect(posted.status).toBe(202);
    expect(outcomes[0]?.outcome.kind).toBe('response');
  });

  it('accepts chunked bodies and reads an error from streaming trailers', async () => {
    const { server, outcomes } = await startServer();
    server.dispatch(invocation('req-6'));
    await call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const chunked = await call(
      server.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-6/response',
      {
        chunks: ['{"part":', '1}'],
      },
    );
    expect(chunked.status).toBe(202);
    expect(outcomes[0]?.outcome).toEqual({ kind: 'response', body: Buffer.from('{"part":1}') });

    server.dispatch(invocation('req-7'));
    await call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const errorBody = Buffer.from('{"errorType":"Boom","errorMessage":"late"}').toString('base64');
    const streamed = await call(
      server.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-7/response',
      {
        chunks: ['partial'],
        headers: {
          Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
        },
        trailers: {
          'Lambda-Runtime-Function-Error-Type': 'Boom',
          'Lambda-Runtime-Function-Error-Body': errorBody,
        },
      },
    );
    expect(streamed.status).toBe(202);
    expect(outcomes[1]?.outcome).toMatchObject({ kind: 'error', errorType: 'Boom' });
  });

  it('accepts /init/error during init with 202 and refuses it after with 403', async () => {
    const { server, initErrors } = await startServer();
    const body = '{"errorType":"Runtime.ImportModuleError","errorMessage":"nope"}';
    const first = await call(server.address, 'POST', '/2018-06-01/runtime/init/error', {
      body,
      headers: { 'Lambda-Runtime-Function-Error-Type': 'Runtime.ImportModuleError' },
    });
    expect(first.status).toBe(202);
    expect(initErrors).toEqual([{ body, errorType: 'Runtime.ImportModuleError' }]);
    server.dispatch(invocation('req-8'));
    await call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const late = await call(server.address, 'POST', '/2018-06-01/runtime/init/error', { body });
    expect(late.status).toBe(403);
  });

  it('refuses /next while the current invocation has no result', async () => {
    const { server } = await startServer();
    server.dispatch(invocation('req-9'));
    await call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const again = await call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    expect(again.status).toBe(403);
  });

  it('takes a result and the next poll pipelined on one connection (the Node runtime does)', async () => {
    const { server, outcomes } = await startServer();
    const runtime = await pipelinedRuntime(server, 'req-p1');
    try {
      await eventually(() => outcomes.length === 1, 'the pipelined result taken');
      expect(outcomes[0]?.requestId).toBe('req-p1');
      expect(outcomes[0]?.outcome).toMatchObject({ kind: 'response' });
      // The runtime is not waiting for the 202 (its poll is already in): it is held back and
      // goes out just ahead of the next event, so the runtime wakes once.
      // Kept sleep: it proves a 202 is NOT written; only a window can show bytes did not come.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(runtime.received()).toBe('');
      server.dispatch(invocation('req-p2', '{"n":2}'));
      await eventually(() => runtime.received().endsWith('{"n":2}'), 'the 202 and the next event');
      expect(runtime.received().indexOf('HTTP/1.1 202')).toBe(0);
      expect(runtime.received().toLowerCase()).toContain('lambda-runtime-aws-request-id: req-p2');
    } finally {
      runtime.socket.destroy();
    }
  });

  it('answers a result at once when the runtime waits for the 202 before polling', async () => {
    const { server, outcomes } = await startServer();
    server.dispatch(invocation('req-w1'));
    await call(server.address, 'GET', '/2018-06-01/runtime/invocation/next');
    const posted = await call(
      server.address,
      'POST',
      '/2018-06-01/runtime/invocation/req-w1/response',
      { body: '"ok"' },
    );
    expect(posted.status).toBe(202);
    expect(outcomes).toHaveLength(1);
  });

  it('sends a held 202 when the environment closes', async () => {
    const { server } = await startServer();
    const runtime = await pipelinedRuntime(server, 'req-c1');
    try {
      // Kept sleep: it proves the 202 is held (NOT written) until close; only a window shows that.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(runtime.received()).toBe('');
      const closed = new Promise((resolve) => runtime.socket.once('close', resolve));
      await server.close();
      await closed;
      expect(runtime.received().startsWith('HTTP/1.1 202')).toBe(true);
    } finally {
      runtime.socket.destroy();
    }
  });

  it('registers an extension and delivers INVOKE and SHUTDOWN events', async () => {
    const { server } = await startServer();
    const registered = await call(server.address, 'POST', '/2020-01-01/extension/register', {
      body: '{"events":["INVOKE","SHUTDOWN"]}',
      headers: { 'Lambda-Extension-Name': 'probe' },
    });
    expect(registered.status).toBe(200);
    expect(JSON.parse(registered.body)).toEqual({
      functionName: 'f',
      functionVersion: '$LATEST',
      handler: 'index.handler',
    });
    const id = registered.headers['lambda-extension-identifier'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const headers = { 'Lambda-Extension-Identifier': id };

    const poll = call(server.address, 'GET', '/2020-01-01/extension/event/next', { headers });
    await eventually(() => server.extensions.allParked(), 'the extension parked in /event/next');
    expect(server.extensions.allCalledNext()).toBe(true);
    expect(server.extensions.allParked()).toBe(true);
    server.broadcastExtensionEvent({
      eventType: 'INVOKE',
      deadlineMs: 1,
      requestId: 'r',
      invokedFunctionArn: 'arn',
    });
    expect(server.extensions.allParked()).toBe(false);
    const invokeEvent = await poll;
    expect(JSON.parse(invokeEvent.body)).toMatchObject({ eventType: 'INVOKE', requestId: 'r' });
    expect(invokeEvent.headers['lambda-extension-event-identifier']).toBeTruthy();

    server.broadcastExtensionEvent({
      eventType: 'SHUTDOWN',
      shutdownReason: 'spindown',
      deadlineMs: 2,
    });
    const shutdown = await call(server.address, 'GET', '/2020-01-01/extension/event/next', {
      headers,
    });
    expect(JSON.parse(shutdown.body)).toEqual({
      eventType: 'SHUTDOWN',
      shutdownReason: 'spindown',
      deadlineMs: 2,
    });

    const unknown = await call(server.address, 'GET', '/2020-01-01/extension/event/next', {
      headers: { 'Lambda-Extension-Identifier': 'bogus' },
    });
    expect(unknown.status).toBe(403);
  });

  it('refuses registration after INIT', async () => {
    const { server } = await startServer();
    server.closeRegistration();
    const res = await call(server.address, 'POST', '/2020-01-01/extension/register', {
      body: '{"events":[]}',
      headers: { 'Lambda-Extension-Name': 'late' },
    });
    expect(res.status).toBe(403);
  });
});

describe('parseRoute', () => {
  it('decodes URL-encoded request ids', () => {
    expect(parseRoute('POST', '/2018-06-01/runtime/invocation/a%2Fb/response')).toEqual({
      kind: 'response',
      requestId: 'a/b',
    });
    expect(parseRoute('GET', '/2018-06-01/runtime/invocation/next?x=1')).toEqual({ kind: 'next' });
    expect(parseRoute('PUT', '/2018-06-01/runtime/invocation/next')).toEqual({ kind: 'unknown' });
  });
});
