/** Local ports for tests: servers on 127.0.0.1 with a port the OS picks. */
import { createServer, type Server } from 'node:net';

/** Starts `server` on 127.0.0.1 and a free port; resolves with the port. */
export async function listenOnFreePort(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return address.port;
}

/**
 * A port free a moment ago (for a process started later that must be given its port up front,
 * e.g. a webhook endpoint configured before the engine starts). Prefer `listenOnFreePort`.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return address.port;
}
