import type { ServerResponse } from 'node:http';
import { configurationOf, specOrNotFound, type FunctionRouteDeps } from './function-routes.ts';
import { sendJson } from './http-util.ts';

/**
 * The cheap read paths deploy tools and waiters call before anything else. sluice has one version
 * of each function ($LATEST, the code on disk) and no aliases, so these answer what Lambda answers
 * for a function that was never published.
 */

// Lambda's documented default quotas (bytes), reported as-is: sluice enforces none of them.
const TOTAL_CODE_SIZE_BYTES = 80_530_636_800;
const CODE_SIZE_UNZIPPED_BYTES = 262_144_000;
const CODE_SIZE_ZIPPED_BYTES = 52_428_800;

/** GET /2015-03-31/functions/{name}/configuration (GetFunctionConfiguration) */
export function getFunctionConfiguration(
  deps: FunctionRouteDeps,
  res: ServerResponse,
  rawName: string,
  query: URLSearchParams,
): void {
  const spec = specOrNotFound(deps, qualified(rawName, query));
  sendJson(res, 200, configurationOf(deps, spec));
}

/** GET /2015-03-31/functions/{name}/versions (ListVersionsByFunction): $LATEST only. */
export function listVersionsByFunction(
  deps: FunctionRouteDeps,
  res: ServerResponse,
  rawName: string,
): void {
  const spec = specOrNotFound(deps, rawName);
  sendJson(res, 200, { Versions: [configurationOf(deps, spec)] });
}

/** GET /2015-03-31/functions/{name}/aliases (ListAliases): sluice has no aliases. */
export function listAliases(deps: FunctionRouteDeps, res: ServerResponse, rawName: string): void {
  specOrNotFound(deps, rawName);
  sendJson(res, 200, { Aliases: [] });
}

/** GET /2016-08-19/account-settings/ (GetAccountSettings): the engine's concurrency as the account's. */
export function getAccountSettings(deps: FunctionRouteDeps, res: ServerResponse): void {
  const concurrency = deps.invoker.concurrency;
  sendJson(res, 200, {
    AccountLimit: {
      TotalCodeSize: TOTAL_CODE_SIZE_BYTES,
      CodeSizeUnzipped: CODE_SIZE_UNZIPPED_BYTES,
      CodeSizeZipped: CODE_SIZE_ZIPPED_BYTES,
      ConcurrentExecutions: concurrency.engineLimit,
      UnreservedConcurrentExecutions: concurrency.snapshot().unreservedLimit,
    },
    AccountUsage: { TotalCodeSize: 0, FunctionCount: deps.invoker.functionNames().length },
  });
}

/** `?Qualifier=` joins the name the way Lambda's `name:qualifier` form does. */
function qualified(rawName: string, query: URLSearchParams): string {
  const qualifier = query.get('Qualifier');
  return qualifier ? `${rawName}:${encodeURIComponent(qualifier)}` : rawName;
}
