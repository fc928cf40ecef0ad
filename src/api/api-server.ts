import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import * as d from '../config/defaults.ts';
import { isLoopbackHost } from '../config/validate-api.ts';
import { SluiceError } from '../errors.ts';
import type { Invoker } from '../invoker/invoker.ts';
import type { EngineMetrics } from '../observability/metrics.ts';
import { checkBearer } from './auth.ts';
import {
  deleteConcurrency,
  getConcurrency,
  getFunction,
  listFunctions,
  putConcurrency,
  type FunctionRouteDeps,
} from './function-routes.ts';
import { bodyNeverInvited, deferContinue, sendJson, sendLambdaError } from './http-util.ts';
import type { AsyncInvokeSink } from '../lambda/async-invocation.ts';
import { handleInvoke } from './invoke-route.ts';
import { LambdaApiError, toLambdaApiError } from './lambda-errors.ts';
import { matchLambdaOperation } from './lambda-operations.ts';
import {
  getAccountSettings,
  getFunctionConfiguration,
  listAliases,
  listVersionsByFunction,
} from './read-only-routes.ts';
import { handleReadiness, type ReadinessSource } from './readiness-route.ts';

/** A route handler gets the regex groups of its path and the query string. */
export type RouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  params: string[],
  query: URLSearchParams,
) => void | Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: RouteHandler;
  /** Routes with their own guard (health checks, push triggers with their own token). */
  public: boolean;
}

export type { Readiness } from '../engine/readiness.ts';

export interface ApiServerOptions {
  /** Default 127.0.0.1: nothing is exposed beyond this machine unless configured. */
  host: string;
  /** Default 3001; 0 picks a free port (tests). */
  port: number;
  /** When set, every route but health (and routes with their own guard) needs `Bearer <token>`. */
  authToken?: string;
  /**
   * A non-loopback host without `authToken` starts only with this set (a warning at every
   * start); the config validation enforces the same rule with a located error.
   */
  allowUnauthenticated?: boolean;
  /** Connection guards; defaults in `config/defaults.ts` (1024, 10 s, 60 s, 5 s). */
  maxConnections?: number;
  headersTimeoutMs?: number;
  /** Time to receive the whole request; Node stops this clock once the body is in, so it never cuts a response that waits for a function. */
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  invoker: Invoker;
  region: string;
  accountId: string;
  logger: Logger;
  metrics: EngineMetrics;
  asyncSink?: AsyncInvokeSink;
  /** `/readyz`: strict true/false from `?strict=`, undefined = the configured default. */
  readiness?: ReadinessSource;
  onReservedConcurrencyChange?: FunctionRouteDeps['onReservedConcurrencyChange'];
}

const FN = '([^/]+)';

/**
 * The Lambda-compatible HTTP API on Node's own http server: the route table is small and fixed,
 * Lambda's wire format is plain JSON, and the invoke path is hot, so a framework would add weight
 * and no capability. SigV4 `Authorization` headers from SDKs are accepted and ignored unless a
 * bearer token is configured.
 */
export class ApiServer {
  readonly #options: ApiServerOptions;
  readonly #routes: Route[] = [];
  readonly #server: Server;
  #stopping: Promise<void> | undefined;
  #lastDropWarningMs = -Infinity;
  #droppedSinceWarning = 0;

  constructor(options: ApiServerOptions) {
    this.#options = options;
    this.#server = createGuardedServer(options, (req, res) => void this.#handle(req, res));
    this.#server.on('drop', () => this.#onDroppedConnection());
    // Node would send `100 Continue` before any route looked at the request; readBody sends it
    // once the announced size is within the route's limit.
    this.#server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      deferContinue(req, res);
      void this.#handle(req, res);
    });
    this.#registerCoreRoutes();
  }

  /** Adds a route; later modules (async config, mappings, triggers) register theirs here. */
  route(
    method: string,
    pattern: RegExp,
    handler: RouteHandler,
    options: { public?: boolean } = {},
  ): void {
    this.#routes.push({ method, pattern, handler, public: options.public ?? false });
  }

  /** Whether a registered route answers `method path` (the coverage document is checked with it). */
  hasRoute(method: string, path: string): boolean {
    return this.#match(method, path) !== undefined;
  }

  async start(): Promise<{ host: string; port: number }> {
    this.#checkExposure();
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    return this.address();
  }

  address(): { host: string; port: number } {
    const a = this.#server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /**
   * Stops accepting connections and closes idle ones; after `graceMs` (default 5 s) it closes the
   * rest, requests in progress included. Idempotent and awaitable.
   */
  stop(graceMs = 5000): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
      setTimeout(() => this.#server.closeAllConnections(), graceMs).unref();
    });
    return this.#stopping;
  }

  /** Refuses, or warns about, an unauthenticated API reachable from the network. */
  #checkExposure(): void {
    const { host, authToken, allowUnauthenticated } = this.#options;
    if (authToken || isLoopbackHost(host)) return;
    if (!allowUnauthenticated) {
      throw new SluiceError(
        'CONFIG_INVALID',
        `api.authToken is required: api.host ${host} is reachable beyond this machine; set a bearer token, or set api.allowUnauthenticated: true to serve it without authentication`,
        { context: { host } },
      );
    }
    this.#options.logger.warn(
      { host },
      'API serves the network WITHOUT authentication (api.allowUnauthenticated: true): anyone who reaches it can invoke functions and change mappings and destinations',
    );
  }

  /** Connections over `maxConnections` are closed by Node on accept; say so, once a minute at most. */
  #onDroppedConnection(): void {
    this.#droppedSinceWarning += 1;
    const now = Date.now();
    if (now - this.#lastDropWarningMs < 60_000) return;
    this.#options.logger.warn(
      { dropped: this.#droppedSinceWarning, maxConnections: this.#server.maxConnections },
      'API connections refused: at api.maxConnections',
    );
    this.#lastDropWarningMs = now;
    this.#droppedSinceWarning = 0;
  }

  #registerCoreRoutes(): void {
    const o = this.#options;
    const deps = { invoker: o.invoker, region: o.region, accountId: o.accountId };
    const fnDeps: FunctionRouteDeps = {
      ...deps,
      onReservedConcurrencyChange: o.onReservedConcurrencyChange,
    };
    this.route('GET', /^\/healthz$/, (_q, res) => sendJson(res, 200, { status: 'ok' }), {
      public: true,
    });
    this.route(
      'GET',
      /^\/readyz$/,
      (req, res, _p, query) =>
        handleReadiness(req, res, query, { readiness: o.readiness, authToken: o.authToken }),
      { public: true },
    );
    this.route('GET', /^\/metrics$/, async (_q, res) => {
      const text = await o.metrics.render();
      res.writeHead(200, { 'Content-Type': o.metrics.registry.contentType });
      res.end(text);
    });
    this.route(
      'POST',
      new RegExp(`^/2015-03-31/functions/${FN}/invocations$`),
      (req, res, [name], query) =>
        handleInvoke({ ...deps, asyncSink: o.asyncSink }, req, res, name as string, query),
    );
    this.route('GET', /^\/2015-03-31\/functions\/?$/, (_q, res, _p, query) =>
      listFunctions(fnDeps, res, query),
    );
    this.route('GET', /^\/2016-08-19\/account-settings\/?$/, (_q, res) =>
      getAccountSettings(fnDeps, res),
    );
    this.route(
      'GET',
      new RegExp(`^/2015-03-31/functions/${FN}/configuration$`),
      (_q, res, [name], query) => getFunctionConfiguration(fnDeps, res, name as string, query),
    );
    this.route('GET', new RegExp(`^/2015-03-31/functions/${FN}/versions/?$`), (_q, res, [name]) =>
      listVersionsByFunction(fnDeps, res, name as string),
    );
    this.route('GET', new RegExp(`^/2015-03-31/functions/${FN}/aliases/?$`), (_q, res, [name]) =>
      listAliases(fnDeps, res, name as string),
    );
    this.route('GET', new RegExp(`^/2015-03-31/functions/${FN}$`), (_q, res, [name]) =>
      getFunction(fnDeps, res, name as string),
    );
    this.route('GET', new RegExp(`^/2019-09-30/functions/${FN}/concurrency$`), (_q, res, [name]) =>
      getConcurrency(fnDeps, res, name as string),
    );
    this.route('PUT', new RegExp(`^/2017-10-31/functions/${FN}/concurrency$`), (req, res, [name]) =>
      putConcurrency(fnDeps, req, res, name as string),
    );
    this.route(
      'DELETE',
      new RegExp(`^/2017-10-31/functions/${FN}/concurrency$`),
      (_q, res, [name]) => deleteConcurrency(fnDeps, res, name as string),
    );
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      const match = this.#match(req.method ?? 'GET', url.pathname);
      if (!match) throw noRouteError(req.method ?? 'GET', url);
      if (!match.route.public && this.#options.authToken) checkBearer(req, this.#options.authToken);
      await match.route.handler(req, res, match.params, url.searchParams);
    } catch (err) {
      const apiError = toLambdaApiError(err);
      if (apiError.status >= 500)
        this.#options.logger.error({ err, path: url.pathname }, 'API request failed');
      else
        this.#options.logger.debug(
          { error: apiError.errorName, path: url.pathname },
          apiError.message,
        );
      // Drain an unread body so keep-alive connections stay usable after an early error — unless
      // the error closes the connection (a body announced too large is never read), or the
      // client still waits for `100 Continue` (its body may never come: close instead).
      if (bodyNeverInvited(req) || apiError.headers.Connection === 'close') {
        if (!res.headersSent) res.setHeader('Connection', 'close');
      } else req.resume();
      sendLambdaError(res, apiError);
    }
  }

  #match(method: string, path: string): { route: Route; params: string[] } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const m = route.pattern.exec(path);
      if (m) return { route, params: m.slice(1) };
    }
    return undefined;
  }
}

/**
 * A request no route answers. A Lambda operation sluice does not implement gets an error naming
 * it — not a 404 `ResourceNotFoundException`, which tools read as "the function does not exist";
 * anything else is a 404.
 */
function noRouteError(method: string, url: URL): LambdaApiError {
  const op = matchLambdaOperation(method, url.pathname, url.searchParams);
  if (op) {
    return new LambdaApiError(
      'UnsupportedOperationException',
      `${op.name} is not supported by sluice (Lambda's ${op.method} ${op.path}); see docs/lambda-coverage.md for what is`,
    );
  }
  return new LambdaApiError('ResourceNotFoundException', `No route for ${method} ${url.pathname}`);
}

/**
 * Node's http server with the guards set: connection cap, head and request deadlines, keep-alive
 * idle limit. Node checks the deadlines every `connectionsCheckingInterval` (30 s by default,
 * which would let a slow client overstay a 10 s head deadline threefold), so it is a fraction of
 * the shortest deadline.
 */
function createGuardedServer(
  o: ApiServerOptions,
  listener: (req: IncomingMessage, res: ServerResponse) => void,
): Server {
  const headersTimeout = o.headersTimeoutMs ?? d.API_HEADERS_TIMEOUT_MS.default;
  const requestTimeout = o.requestTimeoutMs ?? d.API_REQUEST_TIMEOUT_MS.default;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout,
      connectionsCheckingInterval: Math.min(1000, Math.max(25, Math.floor(headersTimeout / 4))),
    },
    listener,
  );
  server.keepAliveTimeout = o.keepAliveTimeoutMs ?? d.API_KEEP_ALIVE_TIMEOUT_MS.default;
  server.maxConnections = o.maxConnections ?? d.API_MAX_CONNECTIONS.default;
  return server;
}
