import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Invoker } from '../invoker/invoker.ts';
import type { FunctionSpec } from '../invoker/types.ts';
import { functionArn } from '../lambda/arn.ts';
import { lambdaLoggingConfig } from './logging-config.ts';
import { parseFunctionName } from './function-name.ts';
import { readJson, sendEmpty, sendJson } from './http-util.ts';
import { LambdaApiError } from './lambda-errors.ts';

export interface FunctionRouteDeps {
  invoker: Invoker;
  region: string;
  accountId: string;
  /** Persists a run-time change of reserved concurrency (so it survives a restart), if a store is configured. */
  onReservedConcurrencyChange?: (
    functionName: string,
    reserved: number | undefined,
  ) => Promise<void>;
}

export function configurationOf(
  deps: FunctionRouteDeps,
  spec: FunctionSpec,
): Record<string, unknown> {
  return {
    FunctionName: spec.name,
    FunctionArn: functionArn(deps.region, deps.accountId, spec.name),
    Runtime: spec.runtime,
    Handler: spec.handler,
    MemorySize: spec.memorySizeMb,
    Timeout: Math.round(spec.timeoutMs / 1000),
    Environment: { Variables: spec.environment },
    Version: '$LATEST',
    PackageType: 'Zip',
    State: 'Active',
    LastUpdateStatus: 'Successful',
    Architectures: [process.arch === 'arm64' ? 'arm64' : 'x86_64'],
    EphemeralStorage: { Size: 512 },
    LoggingConfig: lambdaLoggingConfig(spec),
  };
}

export function specOrNotFound(deps: FunctionRouteDeps, rawName: string): FunctionSpec {
  const ref = parseFunctionName(rawName);
  const spec = deps.invoker.functionSpec(ref.name);
  if (!spec || (ref.qualifier !== undefined && ref.qualifier !== '$LATEST')) {
    throw new LambdaApiError(
      'ResourceNotFoundException',
      `Function not found: ${functionArn(deps.region, deps.accountId, ref.name, ref.qualifier)}`,
    );
  }
  return spec;
}

/** GET /2015-03-31/functions/ (ListFunctions, paged with Marker/MaxItems) */
export function listFunctions(
  deps: FunctionRouteDeps,
  res: ServerResponse,
  query: URLSearchParams,
): void {
  const names = deps.invoker.functionNames().sort();
  const start = Number(query.get('Marker') ?? 0) || 0;
  const maxItems = Math.min(Math.max(Number(query.get('MaxItems') ?? 50) || 50, 1), 10_000);
  const page = names.slice(start, start + maxItems);
  const body: Record<string, unknown> = {
    Functions: page.map((n) => configurationOf(deps, deps.invoker.functionSpec(n) as FunctionSpec)),
  };
  if (start + maxItems < names.length) body.NextMarker = String(start + maxItems);
  sendJson(res, 200, body);
}

/** GET /2015-03-31/functions/{name} (GetFunction) */
export function getFunction(deps: FunctionRouteDeps, res: ServerResponse, rawName: string): void {
  const spec = specOrNotFound(deps, rawName);
  const reserved = deps.invoker.concurrency.reservedConcurrency(spec.name);
  sendJson(res, 200, {
    Configuration: configurationOf(deps, spec),
    Code: { RepositoryType: 'Local', Location: spec.codeDir },
    ...(reserved === undefined ? {} : { Concurrency: { ReservedConcurrentExecutions: reserved } }),
  });
}

/** GET /2019-09-30/functions/{name}/concurrency */
export function getConcurrency(
  deps: FunctionRouteDeps,
  res: ServerResponse,
  rawName: string,
): void {
  const spec = specOrNotFound(deps, rawName);
  const reserved = deps.invoker.concurrency.reservedConcurrency(spec.name);
  sendJson(res, 200, reserved === undefined ? {} : { ReservedConcurrentExecutions: reserved });
}

/** PUT /2017-10-31/functions/{name}/concurrency */
export async function putConcurrency(
  deps: FunctionRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  rawName: string,
): Promise<void> {
  const spec = specOrNotFound(deps, rawName);
  const body = (await readJson(req)) as { ReservedConcurrentExecutions?: unknown };
  const n = body.ReservedConcurrentExecutions;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new LambdaApiError(
      'InvalidParameterValueException',
      `ReservedConcurrentExecutions must be an integer ≥ 0, got ${JSON.stringify(n)}`,
    );
  }
  try {
    deps.invoker.concurrency.setReserved(spec.name, n);
  } catch (err) {
    throw new LambdaApiError('InvalidParameterValueException', (err as Error).message);
  }
  await deps.onReservedConcurrencyChange?.(spec.name, n);
  sendJson(res, 200, { ReservedConcurrentExecutions: n });
}

/** DELETE /2017-10-31/functions/{name}/concurrency */
export async function deleteConcurrency(
  deps: FunctionRouteDeps,
  res: ServerResponse,
  rawName: string,
): Promise<void> {
  const spec = specOrNotFound(deps, rawName);
  deps.invoker.concurrency.setReserved(spec.name, undefined);
  await deps.onReservedConcurrencyChange?.(spec.name, undefined);
  sendEmpty(res, 204);
}
