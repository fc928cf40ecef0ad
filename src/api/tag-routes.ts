import type { ApiServer } from './api-server.ts';
import { functionArn } from '../lambda/arn.ts';
import { parseFunctionName } from './function-name.ts';
import { readJson, sendEmpty, sendJson } from './http-util.ts';
import { LambdaApiError } from './lambda-errors.ts';

/** Where tags live (the engine's state store implements it). */
export interface TagStore {
  listTags(resource: string): Promise<Map<string, string>>;
  tagResource(resource: string, tags: ReadonlyMap<string, string>): Promise<void>;
  untagResource(resource: string, keys: readonly string[]): Promise<void>;
}

export interface TagRouteDeps {
  store: TagStore;
  region: string;
  accountId: string;
  hasFunction(name: string): boolean;
}

const TAGS = '^/2017-03-31/tags/([^/]+)/?$';
// Lambda's limits: 50 tags a resource, keys 1–128 characters, values up to 256.
const MAX_TAGS = 50;
const MAX_KEY_CHARS = 128;
const MAX_VALUE_CHARS = 256;

/**
 * ListTags / TagResource / UntagResource on functions, persisted in the store so they survive a
 * restart. A function's tags are keyed by its unqualified ARN whatever form the caller used.
 */
export function registerTagRoutes(server: ApiServer, deps: TagRouteDeps): void {
  const pattern = new RegExp(TAGS);
  server.route('GET', pattern, async (_req, res, [raw]) => {
    const tags = await deps.store.listTags(resourceOf(deps, raw as string));
    sendJson(res, 200, { Tags: Object.fromEntries(tags) });
  });
  server.route('POST', pattern, async (req, res, [raw]) => {
    const resource = resourceOf(deps, raw as string);
    const tags = tagsOf(await readJson(req));
    const merged = new Map([...(await deps.store.listTags(resource)), ...tags]);
    if (merged.size > MAX_TAGS) invalid(`A resource can have at most ${MAX_TAGS} tags`);
    await deps.store.tagResource(resource, tags);
    sendEmpty(res, 204);
  });
  server.route('DELETE', pattern, async (_req, res, [raw], query) => {
    const resource = resourceOf(deps, raw as string);
    const keys = query.getAll('tagKeys');
    if (keys.length === 0) invalid('tagKeys is required');
    await deps.store.untagResource(resource, keys);
    sendEmpty(res, 204);
  });
}

/** The function ARN the tags belong to; only existing, unqualified functions carry tags. */
function resourceOf(deps: TagRouteDeps, raw: string): string {
  const decoded = decodeURIComponent(raw);
  if (!decoded.startsWith('arn:')) invalid(`Resource must be a function ARN, got ${decoded}`);
  const ref = parseFunctionName(decoded);
  if (ref.qualifier !== undefined) invalid('Tags apply to the function, not a qualified ARN');
  const arn = functionArn(deps.region, deps.accountId, ref.name);
  if (!deps.hasFunction(ref.name)) {
    throw new LambdaApiError('ResourceNotFoundException', `Function not found: ${arn}`);
  }
  return arn;
}

function tagsOf(body: unknown): Map<string, string> {
  const tags = (body as { Tags?: unknown } | null)?.Tags;
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags)) {
    invalid('Tags must be an object of string values');
  }
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tags as Record<string, unknown>)) {
    if (typeof value !== 'string') invalid(`Tag ${key} must have a string value`);
    if (key.length < 1 || key.length > MAX_KEY_CHARS) invalid(`Tag key ${key} is too long`);
    if (value.length > MAX_VALUE_CHARS) invalid(`The value of tag ${key} is too long`);
    out.set(key, value);
  }
  return out;
}

function invalid(message: string): never {
  throw new LambdaApiError('InvalidParameterValueException', message);
}
