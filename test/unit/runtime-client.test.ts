import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listenOnFreePort } from '../support/ports.ts';
import { createRuntimeClient } from '../../src/invoker/runtimes/nodejs/runtime-client.mjs';

/**
 * A scripted HTTP peer: it sees raw request bytes and answers only when `respond` says so. Lets a
 * test prove what the client sent before it had any answer.
 */
async function startPeer(respond: (received: string, socket: Socket) => void): Promise<Server> {
  const server = createServer((socket) => {
    sockets.add(socket);
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      respond(received, socket);
    });
  });
  await listenOnFreePort(server);
  return server;
}

function response(status: number, body: string, headers: Record<string, string> = {}): string {
  let head = `HTTP/1.1 ${status} X\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  return `${head}\r\n${body}`;
}

let servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  servers = [];
});

describe('Node runtime client (bootstrap)', () => {
  it('sends the next-invocation request with the result, before the 202 comes back', async () => {
    // The peer answers nothing until it holds both requests: a client that waited for the 202
    // before asking for the next invocation would hang here.
    let answered = false;
    const server = await startPeer((received, socket) => {
      if (answered || !received.includes('GET /next')) return;
      answered = true;
      expect(received.indexOf('POST /result')).toBeLessThan(received.indexOf('GET /next'));
      socket.write(response(202, '{"status":"OK"}'));
      socket.write(response(200, '{"n":2}', { 'Lambda-Runtime-Aws-Request-Id': 'req-2' }));
    });
    servers.push(server);
    const { port } = server.address() as { port: number };
    const client = createRuntimeClient(`127.0.0.1:${port}`);
    const [posted, next] = client.postThenNext('/result', '"ok"', undefined, '/next');
    const accepted = await posted;
    expect(accepted.status).toBe(202);
    const invocation = await next;
    expect(invocation.status).toBe(200);
    expect(invocation.headers['lambda-runtime-aws-request-id']).toBe('req-2');
    expect(invocation.body.toString()).toBe('{"n":2}');
  });

  it('matches responses split across reads and sent together to their requests, in order', async () => {
    const server = await startPeer((received, socket) => {
      if (!received.endsWith('\r\n\r\n') || (received.match(/GET/g) ?? []).length < 3) return;
      const all = [1, 2, 3].map((n) => response(200, `{"n":${n}}`)).join('');
      // Two of the three in one write, the third cut in half.
      socket.write(all.slice(0, all.length - 10));
      setTimeout(() => socket.write(all.slice(all.length - 10)), 20);
    });
    servers.push(server);
    const { port } = server.address() as { port: number };
    const client = createRuntimeClient(`127.0.0.1:${port}`);
    const replies = await Promise.all([
      client.call('GET', '/a'),
      client.call('GET', '/b'),
      client.call('GET', '/c'),
    ]);
    expect(replies.map((r) => r.body.toString())).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  it('rejects every waiting request when the connection closes', async () => {
    const server = await startPeer((received, socket) => {
      if (received.includes('GET /next')) socket.destroy();
    });
    servers.push(server);
    const { port } = server.address() as { port: number };
    const client = createRuntimeClient(`127.0.0.1:${port}`);
    const [posted, next] = client.postThenNext('/result', '"ok"', undefined, '/next');
    await expect(posted).rejects.toThrow();
    await expect(next).rejects.toThrow();
  });
});
