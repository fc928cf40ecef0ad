import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
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
import { sendJson, sendLambdaError } from './http-util.ts';
import { handleInvoke, type AsyncInvokeSink } from './invoke-route.ts';
import { LambdaApiError, toLambdaApiError } from './lambda-errors.ts';
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

  constructor(options: ApiServerOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#server.keepAliveTimeout = 65_000;
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

  async start(): Promise<{ host: string; port: number }> {
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
      if (!match) {
        throw new LambdaApiError(
          'ResourceNotFoundException',
          `No route for ${req.method} ${url.pathname}`,
        );
      }
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
      // Drain an unread body so keep-alive connections stay usable after an early error.
      req.resume();
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
