/**
 * Cross-field checks of `api`: who may reach it unauthenticated, and timeouts Node accepts.
 *
 * Rule: an API listening beyond loopback serves only with a bearer token — `api.authToken` for
 * its routes, each push trigger's own `authToken` for that trigger — unless the file opts in with
 * `api.allowUnauthenticated: true`. Without it, anyone who reaches the port could invoke
 * functions and change mappings and destinations.
 */
import { isIPv4 } from 'node:net';
import * as d from './defaults.ts';
import type { Problems } from './check-context.ts';
import { isObj, num, objAt, str } from './check-context.ts';

/** 127.0.0.0/8 (also IPv4-mapped), ::1 and `localhost`: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return isIPv4(v4) && v4.startsWith('127.');
}

const hasToken = (value: unknown): boolean => typeof value === 'string' && value !== '';

export function checkApi(doc: unknown, problems: Problems): void {
  const api = objAt(doc, 'api') ?? {};
  checkAuthentication(doc, api, problems);
  const headersMs = num(api.headersTimeoutMs) ?? d.API_HEADERS_TIMEOUT_MS.default;
  const requestMs = num(api.requestTimeoutMs) ?? d.API_REQUEST_TIMEOUT_MS.default;
  if (headersMs > requestMs) {
    problems.add(
      ['api', 'headersTimeoutMs'],
      `must not exceed api.requestTimeoutMs (${requestMs}), got ${headersMs}: the request head is part of the request`,
    );
  }
}

function checkAuthentication(doc: unknown, api: Record<string, unknown>, problems: Problems) {
  // A host of the wrong type is the schema's problem; the default host is loopback.
  const host = api.host === undefined ? d.API_DEFAULTS.host : str(api.host);
  if (host === undefined || isLoopbackHost(host) || api.allowUnauthenticated === true) return;
  const why = `api.host ${host} is reachable beyond this machine`;
  const optIn = 'or set api.allowUnauthenticated: true to serve it without authentication';
  if (!hasToken(api.authToken)) {
    problems.add(
      ['api', 'authToken'],
      `is required: ${why} and anyone who reaches it could invoke functions and change mappings; set a bearer token, ${optIn}`,
    );
  }
  const triggers = isObj(doc) && Array.isArray(doc.triggers) ? (doc.triggers as unknown[]) : [];
  triggers.forEach((trigger, index) => {
    if (!isObj(trigger) || hasToken(trigger.authToken)) return;
    problems.add(
      ['triggers', index, 'authToken'],
      `is required: ${why} and this trigger's route does not use api.authToken; set the token its pusher sends, ${optIn}`,
    );
  });
}
