/**
 * Runs the JSON Schema (Ajv, all errors) and turns Ajv's errors into problems a person can act on:
 * the key path, the value received (secrets hidden) and what is allowed.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { PathSegment, RawProblem } from './config-error.ts';
import { showValue } from './config-error.ts';
import type { SourcePlugins } from '../connectors/plugin.ts';
import { buildSluiceSchema } from './schema.ts';
import { didYouMean } from './suggest.ts';

/** One compiled validator per plugin set (a build has one; compiling costs ~tens of ms). */
const compiled = new WeakMap<SourcePlugins, ValidateFunction>();

function validator(plugins: SourcePlugins): ValidateFunction {
  let validate = compiled.get(plugins);
  if (validate === undefined) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
    ajv.addKeyword({ keyword: 'x-expected', schemaType: 'string' });
    validate = ajv.compile(buildSluiceSchema(plugins));
    compiled.set(plugins, validate);
  }
  return validate;
}

/** `/functions/resize/memorySize` → segments, array indices as numbers. */
function toPath(pointer: string, root: unknown): PathSegment[] {
  if (pointer === '') return [];
  const path: PathSegment[] = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const index = Number(key);
      path.push(index);
      node = node[index];
    } else {
      path.push(key);
      node =
        node !== null && typeof node === 'object'
          ? (node as Record<string, unknown>)[key]
          : undefined;
    }
  }
  return path;
}

function expected(schema: unknown): string | undefined {
  if (schema === null || typeof schema !== 'object') return undefined;
  const phrase = (schema as Record<string, unknown>)['x-expected'];
  return typeof phrase === 'string' ? phrase : undefined;
}

function typePhrase(type: unknown): string {
  const names: Record<string, string> = {
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'true or false',
    object: 'a map',
    array: 'a list',
    null: 'empty',
  };
  const list = Array.isArray(type) ? type : [type];
  return list.map((t) => names[String(t)] ?? String(t)).join(' or ');
}

function translate(error: ErrorObject, root: unknown): RawProblem | undefined {
  const path = toPath(error.instancePath, root);
  const got = (): string => showValue(error.data, path);
  const allowed = expected(error.parentSchema);
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String((error.params as { additionalProperty: string }).additionalProperty);
      const props =
        (error.parentSchema as { properties?: Record<string, unknown> }).properties ?? {};
      const known = Object.keys(props);
      const hint = didYouMean(key, known);
      const list = hint === '' ? `; known keys here: ${known.join(', ')}` : '';
      return { path: [...path, key], target: 'key', message: `is not a known key${hint}${list}` };
    }
    case 'required': {
      const key = String((error.params as { missingProperty: string }).missingProperty);
      return { path: [...path, key], target: 'key', message: 'is required' };
    }
    case 'propertyNames': {
      const name = String((error.params as { propertyName: string }).propertyName);
      const rule = expected((error.schema as Record<string, unknown>) ?? {}) ?? 'a valid name';
      return {
        path: [...path, name],
        target: 'key',
        message: `is not a valid name: must be ${rule}`,
      };
    }
    case 'if':
      return undefined;
    case 'type':
      return { path, message: `must be ${allowed ?? typePhrase(error.schema)}, got ${got()}` };
    case 'enum': {
      const values = (error.schema as unknown[]).map(String);
      const hint = typeof error.data === 'string' ? didYouMean(error.data, values) : '';
      return {
        path,
        message: `must be ${allowed ?? `one of ${values.join(', ')}`}, got ${got()}${hint}`,
      };
    }
    case 'const':
      return { path, message: `must be ${JSON.stringify(error.schema)}, got ${got()}` };
    case 'minItems':
    case 'maxItems':
    case 'uniqueItems':
      return {
        path,
        message: `must be ${allowed ?? 'a list'} (${error.message ?? 'invalid'}), got ${got()}`,
      };
    default:
      return {
        path,
        message: `must be ${allowed ?? error.message ?? 'valid'}, got ${got()}`,
      };
  }
}

/**
 * Problems of one document against the schema: one per key path (the first that applies), and
 * `anyOf` branches folded into their parent's description.
 */
export function schemaProblems(value: unknown, plugins: SourcePlugins): RawProblem[] {
  const validate = validator(plugins);
  if (validate(value)) return [];
  const errors = validate.errors ?? [];
  const folded = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  const problems: RawProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (folded.some((prefix) => error.schemaPath.startsWith(prefix))) continue;
    // The inner error of a bad property name; the `propertyNames` error itself is reported.
    if ('propertyName' in error) continue;
    const problem = translate(error, value);
    if (problem === undefined) continue;
    const key = `${problem.target ?? 'value'}:${JSON.stringify(problem.path)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}
