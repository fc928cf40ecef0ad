import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiServer } from './api-server.ts';
import { functionArn } from '../lambda/arn.ts';
import { parseFunctionName } from './function-name.ts';
import { readJson, sendEmpty, sendJson } from './http-util.ts';
import { LambdaApiError } from './lambda-errors.ts';
import type { DestinationConfig } from '../config/types.ts';
import { isSluiceError } from '../errors.ts';
import type { Invoker } from '../invoker/invoker.ts';
import {
  DEFAULT_MAXIMUM_EVENT_AGE_MS,
  DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
  type EventInvokeConfigs,
  type ShownEventInvokeConfig,
} from '../async/event-invoke-configs.ts';

export interface EventInvokeConfigRouteDeps {
  invoker: Invoker;
  region: string;
  accountId: string;
  configs: EventInvokeConfigs;
  /** Resolves a Lambda `Destination` string (see `parseDestinationUri`); throws when invalid. */
  resolveDestination: (uri: string) => DestinationConfig;
}

const PATH = '^/2019-09-25/functions/([^/]+)/event-invoke-config';
const RETRIES = { min: 0, max: 2 };
const AGE_S = { min: 60, max: 21_600 };

/**
 * Lambda's event-invoke-config API: Put (PUT, replaces), Update (POST, merges), Get, Delete and
 * List. Changes persist in the store and apply to the next event the worker picks up.
 */
export function registerEventInvokeConfigRoutes(
  server: ApiServer,
  deps: EventInvokeConfigRouteDeps,
): void {
  const one = new RegExp(`${PATH}$`);
  server.route('PUT', one, (req, res, [name], q) => put(deps, req, res, name as string, q, false));
  server.route('POST', one, (req, res, [name], q) => put(deps, req, res, name as string, q, true));
  server.route('GET', one, (_req, res, [name], q) => get(deps, res, name as string, q));
  server.route('DELETE', one, (_req, res, [name], q) => remove(deps, res, name as string, q));
  server.route('GET', new RegExp(`${PATH}/list$`), (_req, res, [name]) =>
    list(deps, res, name as string),
  );
}

interface ConfigBody {
  MaximumRetryAttempts?: unknown;
  MaximumEventAgeInSeconds?: unknown;
  DestinationConfig?: unknown;
}

async function put(
  deps: EventInvokeConfigRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  rawName: string,
  query: URLSearchParams,
  merge: boolean,
): Promise<void> {
  const name = functionOrNotFound(deps, rawName, query);
  const body = (await readJson(req)) as ConfigBody;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new LambdaApiError(
      'InvalidRequestContentException',
      'The request body must be a JSON object',
    );
  }
  const current = merge ? deps.configs.shown(name) : undefined;
  if (merge && !current) throw noConfig(deps, name);
  const retries = intIn(body.MaximumRetryAttempts, 'maximumRetryAttempts', RETRIES);
  const ageS = intIn(body.MaximumEventAgeInSeconds, 'maximumEventAgeInSeconds', AGE_S);
  const dests = destinations(deps, body.DestinationConfig);
  const keep = <T>(given: T | undefined | null, old: T | undefined): T | undefined =>
    given === null ? undefined : given !== undefined ? given : old;
  const stored = await deps.configs.put(name, {
    maximumRetryAttempts:
      retries ??
      (merge ? current?.maximumRetryAttempts : undefined) ??
      DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
    maximumEventAgeMs:
      (ageS === undefined ? undefined : ageS * 1000) ??
      (merge ? current?.maximumEventAgeMs : undefined) ??
      DEFAULT_MAXIMUM_EVENT_AGE_MS,
    onSuccess: merge ? keep(dests.onSuccess, current?.onSuccess) : (dests.onSuccess ?? undefined),
    onFailure: merge ? keep(dests.onFailure, current?.onFailure) : (dests.onFailure ?? undefined),
  });
  sendJson(res, 200, toLambda(deps, name, stored));
}

function get(
  deps: EventInvokeConfigRouteDeps,
  res: ServerResponse,
  rawName: string,
  query: URLSearchParams,
): void {
  const name = functionOrNotFound(deps, rawName, query);
  const shown = deps.configs.shown(name);
  if (!shown) throw noConfig(deps, name);
  sendJson(res, 200, toLambda(deps, name, shown));
}

async function remove(
  deps: EventInvokeConfigRouteDeps,
  res: ServerResponse,
  rawName: string,
  query: URLSearchParams,
): Promise<void> {
  const name = functionOrNotFound(deps, rawName, query);
  if (!(await deps.configs.delete(name))) throw noConfig(deps, name);
  sendEmpty(res, 204);
}

function list(deps: EventInvokeConfigRouteDeps, res: ServerResponse, rawName: string): void {
  const name = functionOrNotFound(deps, rawName, new URLSearchParams());
  const shown = deps.configs.shown(name);
  // One version ($LATEST) per function, so one page always holds everything.
  const all = shown ? [toLambda(deps, name, shown)] : [];
  sendJson(res, 200, { FunctionEventInvokeConfigs: all });
}

function toLambda(
  deps: EventInvokeConfigRouteDeps,
  name: string,
  c: ShownEventInvokeConfig,
): Record<string, unknown> {
  return {
    FunctionArn: functionArn(deps.region, deps.accountId, name, '$LATEST'),
    MaximumRetryAttempts: c.maximumRetryAttempts,
    MaximumEventAgeInSeconds: Math.round(c.maximumEventAgeMs / 1000),
    // restJson timestamps are epoch seconds.
    LastModified: c.lastModifiedMs / 1000,
    DestinationConfig: {
      OnSuccess: c.onSuccess ? { Destination: c.onSuccess.uri } : {},
      OnFailure: c.onFailure ? { Destination: c.onFailure.uri } : {},
    },
  };
}

function functionOrNotFound(
  deps: EventInvokeConfigRouteDeps,
  rawName: string,
  query: URLSearchParams,
): string {
  const ref = parseFunctionName(rawName, query.get('Qualifier') ?? undefined);
  if (
    !deps.invoker.functionSpec(ref.name) ||
    (ref.qualifier !== undefined && ref.qualifier !== '$LATEST')
  ) {
    throw new LambdaApiError(
      'ResourceNotFoundException',
      `Function not found: ${functionArn(deps.region, deps.accountId, ref.name, ref.qualifier)}`,
    );
  }
  return ref.name;
}

function noConfig(deps: EventInvokeConfigRouteDeps, name: string): LambdaApiError {
  return new LambdaApiError(
    'ResourceNotFoundException',
    `The function ${functionArn(deps.region, deps.accountId, name, '$LATEST')} doesn't have an EventInvokeConfig`,
  );
}

function intIn(
  value: unknown,
  field: string,
  range: { min: number; max: number },
): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw validation(value, field, 'Member must be an integer');
  }
  if (value < range.min) {
    throw validation(value, field, `Member must have value greater than or equal to ${range.min}`);
  }
  if (value > range.max) {
    throw validation(value, field, `Member must have value less than or equal to ${range.max}`);
  }
  return value;
}

/** Parsed `DestinationConfig`: a destination, `null` to remove it (Update), or absent. */
function destinations(
  deps: EventInvokeConfigRouteDeps,
  value: unknown,
): { onSuccess?: DestinationConfig | null; onFailure?: DestinationConfig | null } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw validation(value, 'destinationConfig', 'Member must be an object');
  }
  const v = value as Record<string, unknown>;
  return {
    ...(v.OnSuccess !== undefined
      ? { onSuccess: destination(deps, v.OnSuccess, 'onSuccess') }
      : {}),
    ...(v.OnFailure !== undefined
      ? { onFailure: destination(deps, v.OnFailure, 'onFailure') }
      : {}),
  };
}

function destination(
  deps: EventInvokeConfigRouteDeps,
  value: unknown,
  field: string,
): DestinationConfig | null {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw validation(value, `destinationConfig.${field}`, 'Member must be an object');
  }
  const uri = (value as { Destination?: unknown }).Destination;
  if (uri === undefined || uri === null || uri === '') return null;
  if (typeof uri !== 'string' || uri.length > 350) {
    throw validation(
      uri,
      `destinationConfig.${field}.destination`,
      'Member must be a string of at most 350 characters',
    );
  }
  try {
    return deps.resolveDestination(uri);
  } catch (err) {
    if (isSluiceError(err, 'INVALID_REQUEST') || isSluiceError(err, 'CONFIG_INVALID')) {
      throw new LambdaApiError('InvalidParameterValueException', err.message);
    }
    throw err;
  }
}

function validation(value: unknown, field: string, constraint: string): LambdaApiError {
  return new LambdaApiError(
    'InvalidParameterValueException',
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}
