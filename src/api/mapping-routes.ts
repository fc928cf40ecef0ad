import type { ApiServer } from './api-server.ts';
import type { MappingManager } from '../engine/mapping-manager.ts';
import type { EsmRequest } from '../engine/esm-request.ts';
import { parseFunctionName } from './function-name.ts';
import { readJson, sendJson } from './http-util.ts';
import { LambdaApiError } from './lambda-errors.ts';

const BASE = '/2015-03-31/event-source-mappings';
const UUID = '([0-9a-fA-F-]{36})';

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

/** Lambda's event-source-mapping operations (Create, Get, Update, Delete, List with paging). */
export function registerMappingRoutes(server: ApiServer, mappings: MappingManager): void {
  server.route('POST', new RegExp(`^${BASE}/?$`), async (req, res) => {
    sendJson(res, 202, await mappings.create(await requestBody(req)));
  });
  server.route('GET', new RegExp(`^${BASE}/?$`), (_req, res, _p, query) => {
    const fn = query.get('FunctionName');
    const all = mappings.list({
      ...(fn ? { functionName: parseFunctionName(fn).name } : {}),
      ...(query.get('EventSourceArn')
        ? { eventSourceArn: query.get('EventSourceArn') as string }
        : {}),
    });
    const start = Number(query.get('Marker') ?? 0) || 0;
    const max = Math.min(Math.max(Number(query.get('MaxItems') ?? 100) || 100, 1), 100);
    const page = all.slice(start, start + max);
    sendJson(res, 200, {
      EventSourceMappings: page,
      ...(start + max < all.length ? { NextMarker: String(start + max) } : {}),
    });
  });
  server.route('GET', new RegExp(`^${BASE}/${UUID}$`), (_req, res, [uuid]) => {
    sendJson(res, 200, mappings.describe(uuid as string));
  });
  server.route('PUT', new RegExp(`^${BASE}/${UUID}$`), async (req, res, [uuid]) => {
    sendJson(res, 202, await mappings.update(uuid as string, await requestBody(req)));
  });
  server.route('DELETE', new RegExp(`^${BASE}/${UUID}$`), async (_req, res, [uuid]) => {
    sendJson(res, 202, await mappings.delete(uuid as string));
  });
}
