/**
 * Cross-field checks of `concurrency` and `functions`: handlers, code folders, environment,
 * reserved / provisioned concurrency against the engine limit, async destinations.
 */
import { isAbsolute, resolve } from 'node:path';
import { showValue } from './config-error.ts';
import * as d from './defaults.ts';
import { checkDestination } from './destinations.ts';
import { checkAwsCredentials } from './function-credentials.ts';
import type { CheckInputs, Obj, Problems, Refs } from './check-context.ts';
import { isObj, num, objAt, str } from './check-context.ts';

/** `limit` and `minimumUnreserved` with defaults, as the compiler will use them. */
export function concurrencyOf(doc: unknown): { limit: number; minimumUnreserved: number } {
  const section = objAt(doc, 'concurrency');
  const limit = num(section?.limit) ?? d.DEFAULT_CONCURRENCY_LIMIT;
  const minimumUnreserved = num(section?.minimumUnreserved) ?? d.defaultMinimumUnreserved(limit);
  return { limit, minimumUnreserved };
}

export function isProvided(runtime: string): boolean {
  return runtime === 'provided' || runtime.startsWith('provided.');
}

/** `file.export`: no spaces, no `..`, not absolute, at least one dot before a non-empty export. */
const HANDLER = /^[^\s/.][^\s]*\.[^\s.]+$/;

function checkHandler(name: string, fn: Obj, problems: Problems): void {
  const runtime = str(fn.runtime);
  const handler = fn.handler;
  const path = ['functions', name, 'handler'];
  if (handler === undefined) {
    if (runtime !== undefined && !isProvided(runtime)) {
      problems.add(path, `is required for runtime ${runtime}: file.export, e.g. index.handler`, {
        target: 'key',
      });
    }
    return;
  }
  if (typeof handler !== 'string' || (runtime !== undefined && isProvided(runtime))) return;
  if (handler.includes('..')) {
    problems.add(
      path,
      `must not contain ".." (the handler file stays inside the code folder), got ${showValue(handler, path)}`,
    );
  } else if (!HANDLER.test(handler)) {
    problems.add(
      path,
      `must be file.export relative to the code folder (e.g. index.handler or src/app.main), got ${showValue(handler, path)}`,
    );
  }
}

function checkCode(name: string, fn: Obj, inputs: CheckInputs, problems: Problems): void {
  const code = str(fn.code);
  if (code === undefined || code === '') return;
  const dir = resolve(inputs.baseDir, code);
  if (!inputs.dirExists(dir)) {
    const relative = isAbsolute(code)
      ? ''
      : ` (relative to the config file's folder ${inputs.baseDir})`;
    problems.add(
      ['functions', name, 'code'],
      `must be an existing folder, got ${JSON.stringify(code)}: ${dir} does not exist or is not a folder${relative}`,
    );
  }
}

function checkEnvironment(name: string, fn: Obj, problems: Problems): void {
  const env = objAt(fn, 'environment');
  if (env === undefined) return;
  let bytes = 0;
  for (const [key, value] of Object.entries(env)) {
    const path = ['functions', name, 'environment', key];
    if (d.RESERVED_ENV_KEYS.includes(key)) {
      problems.add(
        path,
        'is set by the engine for every function and cannot be declared (Lambda reserves it too)',
        {
          target: 'key',
        },
      );
    }
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      bytes += Buffer.byteLength(key) + Buffer.byteLength(String(value));
    }
  }
  if (bytes > d.ENV_MAX_BYTES) {
    problems.add(
      ['functions', name, 'environment'],
      `must total at most ${d.ENV_MAX_BYTES} bytes (keys + values, as Lambda's 4 KB limit), got ${bytes} bytes`,
      { target: 'key' },
    );
  }
}

/** Lambda accepts log levels only with the JSON format. */
function checkLoggingConfig(name: string, fn: Obj, problems: Problems): void {
  const config = objAt(fn, 'loggingConfig');
  if (config === undefined || config.logFormat === 'JSON') return;
  for (const key of ['applicationLogLevel', 'systemLogLevel']) {
    if (config[key] === undefined) continue;
    problems.add(
      ['functions', name, 'loggingConfig', key],
      'needs logFormat: JSON (Lambda sets log levels only for JSON logs)',
      { target: 'key' },
    );
  }
}

function checkConcurrency(name: string, fn: Obj, limit: number, problems: Problems): void {
  const reserved = num(fn.reservedConcurrency);
  const provisioned = num(fn.provisionedConcurrency);
  if (reserved !== undefined && reserved > limit) {
    problems.add(
      ['functions', name, 'reservedConcurrency'],
      `must be at most concurrency.limit (${limit}), got ${reserved}`,
    );
  }
  if (provisioned !== undefined && provisioned > 0) {
    if (reserved !== undefined && provisioned > reserved) {
      problems.add(
        ['functions', name, 'provisionedConcurrency'],
        `must be at most reservedConcurrency (${reserved}), got ${provisioned}`,
      );
    } else if (provisioned > limit) {
      problems.add(
        ['functions', name, 'provisionedConcurrency'],
        `must be at most concurrency.limit (${limit}), got ${provisioned}`,
      );
    }
  }
}

/**
 * Reservations must leave `minimumUnreserved` of the limit to everyone else (Lambda keeps 100 of
 * its 1000). The problem is reported at the reservation that crosses the line, in file order.
 */
function checkUnreserved(functions: [string, Obj][], doc: unknown, problems: Problems): void {
  const { limit, minimumUnreserved } = concurrencyOf(doc);
  const section = objAt(doc, 'concurrency');
  if (section?.minimumUnreserved !== undefined && minimumUnreserved > limit) {
    problems.add(
      ['concurrency', 'minimumUnreserved'],
      `must be at most concurrency.limit (${limit}), got ${minimumUnreserved}`,
    );
    return;
  }
  const reservable = limit - minimumUnreserved;
  let total = 0;
  const parts: string[] = [];
  for (const [name, fn] of functions) {
    const reserved = num(fn.reservedConcurrency);
    if (reserved === undefined || reserved > limit) continue;
    total += reserved;
    parts.push(`${name} ${reserved}`);
    if (total > reservable) {
      const source =
        section?.minimumUnreserved === undefined
          ? `the default min(100, ceil(limit / 10)) = ${minimumUnreserved}`
          : `concurrency.minimumUnreserved = ${minimumUnreserved}`;
      problems.add(
        ['functions', name, 'reservedConcurrency'],
        `brings reserved concurrency to ${total} (${parts.join(', ')}), but at most ${reservable} of concurrency.limit ${limit} may be reserved: ${source} must stay unreserved. Lower a reservation, raise concurrency.limit, or set concurrency.minimumUnreserved`,
      );
      return;
    }
  }
}

export function checkFunctions(
  doc: unknown,
  refs: Refs,
  inputs: CheckInputs,
  problems: Problems,
): void {
  const functions = Object.entries(objAt(doc, 'functions') ?? {}).filter(
    (entry): entry is [string, Obj] => isObj(entry[1]),
  );
  const { limit } = concurrencyOf(doc);
  for (const [name, fn] of functions) {
    checkHandler(name, fn, problems);
    checkCode(name, fn, inputs, problems);
    checkEnvironment(name, fn, problems);
    checkLoggingConfig(name, fn, problems);
    checkAwsCredentials(name, fn, inputs.env, problems);
    checkConcurrency(name, fn, limit, problems);
    const asyncOptions = objAt(fn, 'async');
    for (const key of ['onSuccess', 'onFailure', 'deadLetter']) {
      checkDestination(
        asyncOptions?.[key],
        ['functions', name, 'async', key],
        refs,
        { ownerFunction: name },
        problems,
      );
    }
  }
  checkUnreserved(functions, doc, problems);
}
