import type { ApiServer } from './api-server.ts';
import type { SluiceConfig } from '../config/types.ts';
import type { SourcePlugins } from '../connectors/plugin.ts';
import type { MappingManager, MappingView } from '../engine/mapping-manager.ts';
import { applyUpdate, createRequestToOptions, inApiTerms, type EsmRequest } from './esm-request.ts';
import { eventSourceArn, toEsmConfiguration } from './esm-response.ts';
import { parseFunctionName } from './function-name.ts';
import { readJson, sendJson } from './http-util.ts';
import { LambdaApiError } from './lambda-errors.ts';

const BASE = '/2015-03-31/event-source-mappings';
const UUID = '([0-9a-fA-F-]{36})';

export interface MappingRouteDeps {
  mappings: MappingManager;
  /** The running config: requests are translated against its connections and functions. */
  config: SluiceConfig;
  /** The source types of this build: each translates its own request and response fields. */
  plugins: SourcePlugins;
}

async function requestBody(req: Parameters<typeof readJson>[0]): Promise<EsmRequest> {
  const body = await readJson(req);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new LambdaApiError(
      'InvalidRequestContentException',
      'The request body must be a JSON object',
    );
  }
  return body as EsmRequest;
}

/**
 * Lambda's event-source-mapping operations (Create, Get, Update, Delete, List with paging). The
 * manager works in mapping options and compiled mappings; this is where Lambda's request and
 * response JSON are translated to and from them.
 */
export function registerMappingRoutes(server: ApiServer, deps: MappingRouteDeps): void {
  const { mappings, config, plugins } = deps;
  const render = (view: MappingView) =>
    toEsmConfiguration(config, view.mapping, view.meta, plugins);
  server.route('POST', new RegExp(`^${BASE}/?$`), async (req, res) => {
    const body = await requestBody(req);
    const created = await inRequestTerms(
      mappings.create((uuid) => createRequestToOptions(config, `esm-${uuid}`, body, plugins)),
    );
    sendJson(res, 202, render(created));
  });
  server.route('GET', new RegExp(`^${BASE}/?$`), (_req, res, _p, query) => {
    const fn = query.get('FunctionName');
    const arn = query.get('EventSourceArn');
    const all = mappings
      .list(fn ? { functionName: parseFunctionName(fn).name } : {})
      .filter((view) => !arn || eventSourceArn(config, view.mapping, plugins) === arn)
      .map(render);
    const start = Number(query.get('Marker') ?? 0) || 0;
    const max = Math.min(Math.max(Number(query.get('MaxItems') ?? 100) || 100, 1), 100);
    const page = all.slice(start, start + max);
    sendJson(res, 200, {
      EventSourceMappings: page,
      ...(start + max < all.length ? { NextMarker: String(start + max) } : {}),
    });
  });
  server.route('GET', new RegExp(`^${BASE}/${UUID}$`), (_req, res, [uuid]) => {
    sendJson(res, 200, render(mappings.describe(uuid as string)));
  });
  server.route('PUT', new RegExp(`^${BASE}/${UUID}$`), async (req, res, [uuid]) => {
    const body = await requestBody(req);
    const updated = await inRequestTerms(
      mappings.update(uuid as string, (options) => applyUpdate(options, body)),
    );
    sendJson(res, 202, render(updated));
  });
  server.route('DELETE', new RegExp(`^${BASE}/${UUID}$`), async (_req, res, [uuid]) => {
    sendJson(res, 202, render(await mappings.delete(uuid as string)));
  });
}

/** The manager compiles with the config pipeline; its problems are answered as request fields. */
async function inRequestTerms<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    throw inApiTerms(err);
  }
}
