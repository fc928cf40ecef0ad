import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseStrictParam, publicReadiness, type Readiness } from '../engine/readiness.ts';
import { hasValidBearer } from './auth.ts';
import { sendJson } from './http-util.ts';

export type ReadinessSource = (strict: boolean | undefined) => Readiness;

/**
 * `GET /readyz[?strict=1]`: 200 when ready, 503 when not. Public, since orchestrators probe it
 * without credentials; when the API has a token, only a caller with it sees the checks (mapping
 * names, broker error texts, queue URLs) — everyone else gets the bare status.
 */
export function handleReadiness(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  deps: { readiness: ReadinessSource | undefined; authToken: string | undefined },
): void {
  const strict = parseStrictParam(query.get('strict'));
  const r: Readiness = deps.readiness?.(strict) ?? {
    ready: true,
    status: 'ready',
    strict: strict ?? false,
    checks: {},
  };
  const detailed = deps.authToken === undefined || hasValidBearer(req, deps.authToken);
  sendJson(res, r.ready ? 200 : 503, detailed ? r : publicReadiness(r));
}
