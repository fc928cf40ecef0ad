/**
 * Helpers for the Invoke API and asynchronous-invocation integration tests: a real `Engine`
 * (real execution environments, SQLite store, API on a free port) built from YAML text, and an
 * `@aws-sdk/client-lambda` client pointed at it.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Engine } from '../../src/app/sluice-app.ts';
import { apiEndpoint, startTestEngine } from '../support/start-test-engine.ts';

export const FUNCTIONS_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'fixtures',
  'functions',
);

/** The fixture with the API tests' handlers (echo, fail, maybeFail, append, hold). */
export const API_HANDLERS = join(FUNCTIONS_DIR, 'api-handlers');

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
  /** Variables the config is loaded with (`${VAR}`, function credentials). Default none. */
  env: Record<string, string> = {},
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
  const engine = await startTestEngine(text, { load: { baseDir: FUNCTIONS_DIR, env } });
  return {
    engine,
    endpoint: apiEndpoint(engine),
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
