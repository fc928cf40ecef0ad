/**
 * Helpers for the Invoke API and asynchronous-invocation integration tests: a real `Engine`
 * (real execution environments, SQLite store, API on a free port) built from YAML text, and an
 * `@aws-sdk/client-lambda` client pointed at it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { loadConfigFromString } from '../../src/config/load-config.ts';
import { Engine } from '../../src/app/sluice-app.ts';
import { silentLogger } from '../../src/observability/logger.ts';

export const FUNCTIONS_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'functions',
);

/** The fixture with the API tests' handlers (echo, fail, maybeFail, append, hold). */
export const API_HANDLERS = join(FUNCTIONS_DIR, 'api-handlers');

export interface TempDir {
  path: string;
  cleanup(): void;
}

export function tempDir(prefix = 'sluice-api-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface RunningEngine {
  engine: Engine;
  /** `http://127.0.0.1:<port>` of the engine's API. */
  endpoint: string;
  /** Stops the engine (idempotent). */
  stop(): Promise<void>;
}

/**
 * Starts a real engine from YAML text. `api` and `storage` are appended by this helper (port 0,
 * a store under `dir`), so the text holds functions, connections and the rest.
 */
export async function startEngine(
  yaml: string,
  dir: string,
  api: { authToken?: string } = {},
): Promise<RunningEngine> {
  const text = [
    yaml,
    'api:',
    '  host: 127.0.0.1',
    '  port: 0',
    ...(api.authToken ? [`  authToken: ${api.authToken}`] : []),
    'storage:',
    `  path: ${JSON.stringify(join(dir, 'state.db'))}`,
  ].join('\n');
  const config = loadConfigFromString(text, { baseDir: FUNCTIONS_DIR, env: {} });
  const engine = new Engine(config, { logger: silentLogger() });
  try {
    await engine.start();
  } catch (err) {
    await engine.stop(1000);
    throw err;
  }
  const address = engine.api?.address();
  if (!address) throw new Error('the engine has no API');
  return {
    engine,
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      await engine.stop(5000);
    },
  };
}

/**
 * A Lambda client for sluice: any region and credentials (SigV4 headers are accepted and
 * ignored), and no SDK retries so 429s and 5xxs reach the test as they were sent.
 */
export function lambdaClient(endpoint: string): LambdaClient {
  return new LambdaClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'sluice', secretAccessKey: 'sluice' },
    maxAttempts: 1,
  });
}

/**
 * Sends `Authorization: Bearer <token>` from the AWS SDK (sluice's `api.authToken`).
 *
 * The SDK signs every request with SigV4 in its `finalizeRequest` step, which writes its own
 * `Authorization` header; a middleware in the later `deserialize` step sees the signed request
 * just before it is sent and replaces that header with the bearer token:
 *
 * ```ts
 * client.middlewareStack.add(
 *   (next) => async (args) => {
 *     const request = args.request as { headers: Record<string, string> };
 *     request.headers.authorization = `Bearer ${token}`;
 *     return next(args);
 *   },
 *   { step: 'deserialize', name: 'sluiceBearerToken' },
 * );
 * ```
 */
export function withBearerToken(client: LambdaClient, token: string): LambdaClient {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers.authorization = `Bearer ${token}`;
      return next(args);
    },
    { step: 'deserialize', name: 'sluiceBearerToken' },
  );
  return client;
}

/** Polls `check` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
