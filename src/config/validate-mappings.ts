/**
 * Cross-field checks of `mappings`: references, which source keys fit the connection's type, and
 * Lambda's per-source ranges (lambda-esm.md §1). The source type is the referenced connection's.
 */
import { showValue, type PathSegment, type RawProblem } from './config-error.ts';
import * as d from './defaults.ts';
import { checkDestination, parseDestination } from './destinations.ts';
import { parsePattern } from './filter-patterns.ts';
import { didYouMean } from './suggest.ts';
import type {
  AnySourcePlugin,
  SourceMapping,
  SourcePlugins,
  SourceRules,
} from '../connectors/plugin.ts';
import type { CheckInputs, Obj, Problems, Refs } from './check-context.ts';
import { isObj, num, objAt, str } from './check-context.ts';

/** Every key a `source:` of this type takes: `connection` and its plugin's schema keys. */
function sourceKeys(plugin: AnySourcePlugin): string[] {
  return ['connection', ...Object.keys(plugin.sourceSchema.properties)];
}

function checkSource(
  base: PathSegment[],
  source: Obj,
  m: Obj,
  type: string,
  inputs: CheckInputs,
  problems: Problems,
): void {
  const plugins = inputs.plugins;
  const plugin = plugins.get(type);
  const keys = sourceKeys(plugin);
  const required = plugin.sourceSchema.required;
  const connection = String(source.connection);
  for (const key of Object.keys(source)) {
    if (keys.includes(key)) continue;
    const owner = plugins.all.find((p) => sourceKeys(p).includes(key));
    if (owner === undefined) continue; // unknown keys are the schema's to report
    problems.add(
      [...base, 'source', key],
      `is ${owner.withArticle} source key, but connection ${connection} is ${type}; ${type} sources take ${keys.join(', ')}`,
      { target: 'key' },
    );
  }
  if (source[required] === undefined) {
    problems.add(
      [...base, 'source', required],
      `is required for ${plugin.withArticle} source (connection ${connection})`,
      {
        target: 'key',
      },
    );
  }
  plugin.checkMapping?.(base, m, source, { ...inputs, problems, show: showValue });
}

function checkFilters(
  base: PathSegment[],
  m: Obj,
  type: string,
  inputs: CheckInputs,
  problems: Problems,
): void {
  const filters = objAt(m, 'filterCriteria')?.filters;
  if (!Array.isArray(filters)) return;
  filters.forEach((filter: unknown, index) => {
    const text = isObj(filter) ? str(filter.pattern) : undefined;
    if (text === undefined || text === '') return;
    const path = [...base, 'filterCriteria', 'filters', index, 'pattern'];
    const parsed = parsePattern(text);
    if (!parsed.ok) {
      const extra = parsed.offset === undefined ? {} : { offsetInValue: parsed.offset };
      problems.add(path, `is not a valid filter pattern: ${parsed.message}`, extra);
      return;
    }
    for (const message of inputs.validateFilterPattern?.(parsed.value, type) ?? []) {
      problems.add(path, `is not a valid filter pattern: ${message}`);
    }
  });
}

function checkSourceOnly(
  base: PathSegment[],
  m: Obj,
  plugin: AnySourcePlugin,
  problems: Problems,
): void {
  const rules: SourceRules = plugin.rules;
  const concurrency = num(objAt(m, 'scalingConfig')?.maximumConcurrency);
  if (concurrency !== undefined && concurrency < rules.minMaximumConcurrency) {
    problems.add(
      [...base, 'scalingConfig', 'maximumConcurrency'],
      `must be an integer from ${rules.minMaximumConcurrency} to ${d.MAX_CONCURRENCY.max} for ${plugin.withArticle} source, got ${concurrency}`,
    );
  }
  checkPollers(base, m, plugin, problems);
  const kafkaOnly = ['maximumRecordAgeInSeconds', 'bisectBatchOnFunctionError'];
  const retryKeys = ['maximumRetryAttempts', 'destinationConfig'];
  for (const key of [...retryKeys, ...kafkaOnly]) {
    if (m[key] === undefined) continue;
    const allowed = kafkaOnly.includes(key) ? rules.recordAgeAndBisect : rules.retryControls;
    if (allowed) continue;
    const why = rules.unsupportedKeyReason;
    problems.add([...base, key], `is not supported for ${plugin.withArticle} source: ${why}`, {
      target: 'key',
    });
  }
}

/** `provisionedPollerConfig`: sources with a provisioned mode only, their minimum, minimum ≤ maximum. */
function checkPollers(
  base: PathSegment[],
  m: Obj,
  plugin: AnySourcePlugin,
  problems: Problems,
): void {
  const config = objAt(m, 'provisionedPollerConfig');
  if (config === undefined) return;
  const path = [...base, 'provisionedPollerConfig'];
  const lowest = plugin.rules.minMinimumPollers;
  if (lowest === undefined) {
    problems.add(
      path,
      `is not supported for ${plugin.withArticle} source: it has one consumer per mapping; use scalingConfig.maximumConcurrency for parallel batches`,
      { target: 'key' },
    );
    return;
  }
  const minimum = num(config.minimumPollers);
  const maximum = num(config.maximumPollers);
  if (minimum !== undefined && minimum < lowest) {
    problems.add(
      [...path, 'minimumPollers'],
      `must be an integer from ${lowest} to ${d.MINIMUM_POLLERS.max} for ${plugin.withArticle} source, got ${minimum}`,
    );
  }
  const effectiveMinimum = minimum ?? lowest;
  if (maximum !== undefined && maximum < effectiveMinimum) {
    problems.add(
      [...path, 'maximumPollers'],
      `must be at least minimumPollers (${effectiveMinimum}${minimum === undefined ? ', the default' : ''}), got ${maximum}`,
    );
  }
}

function checkOnFailure(
  base: PathSegment[],
  m: Obj,
  source: Obj,
  plugin: AnySourcePlugin,
  refs: Refs,
  problems: Problems,
): void {
  if (!plugin.rules.retryControls) return;
  const type = plugin.type;
  const onFailure = objAt(m, 'destinationConfig')?.onFailure;
  const path = [...base, 'destinationConfig', 'onFailure'];
  const connection = String(source.connection);
  const scope = { sourceConnection: { name: connection, type } };
  const before = problems.list.length;
  checkDestination(onFailure, path, refs, scope, problems);
  if (problems.list.length > before || !isObj(onFailure)) return;
  const parsed = parseDestination(String(onFailure.destination), refs.plugins);
  const target = str(onFailure.connection) ?? connection;
  if (parsed === undefined) return;
  const destination = { ...parsed, uri: String(onFailure.destination) };
  const problem = plugin.onFailureProblem?.(destination, source, target === connection);
  if (problem !== undefined) problems.add([...path, 'destination'], problem);
}

export function checkMappings(
  doc: unknown,
  refs: Refs,
  inputs: CheckInputs,
  problems: Problems,
): void {
  const mappings = isObj(doc) && Array.isArray(doc.mappings) ? (doc.mappings as unknown[]) : [];
  const names = new Map<string, number>();
  mappings.forEach((m, index) => {
    if (!isObj(m)) return;
    const base: PathSegment[] = ['mappings', index];
    const name = str(m.name);
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) {
        problems.add(
          [...base, 'name'],
          `must be unique, got ${JSON.stringify(name)} (also mappings[${first}].name)`,
        );
      } else names.set(name, index);
    }
    const fn = str(m.function);
    if (fn !== undefined && !refs.functions.has(fn)) {
      problems.add(
        [...base, 'function'],
        `names function ${JSON.stringify(fn)}, which is not declared under functions${didYouMean(fn, refs.functions)}`,
      );
    }
    const source = objAt(m, 'source');
    const connection = str(source?.connection);
    if (source === undefined || connection === undefined) return;
    const type = refs.connections.get(connection);
    if (type === undefined) {
      const declared = isObj(objAt(doc, 'connections')?.[connection]);
      if (!declared) {
        problems.add(
          [...base, 'source', 'connection'],
          `names connection ${JSON.stringify(connection)}, which is not declared under connections${didYouMean(connection, refs.connections.keys())}`,
        );
      }
      return;
    }
    const plugin = inputs.plugins.get(type);
    checkSource(base, source, m, type, inputs, problems);
    checkFilters(base, m, type, inputs, problems);
    checkSourceOnly(base, m, plugin, problems);
    checkOnFailure(base, m, source, plugin, refs, problems);
  });
}

/**
 * Mappings that read the same source with the same function (their plugin's `identity`): Lambda
 * refuses the second (ResourceConflictException); in the file it is a problem at the later one,
 * naming the first and its line.
 */
export function duplicateMappingProblems(
  mappings: readonly SourceMapping[],
  plugins: SourcePlugins,
  lineOf: (index: number) => number,
): RawProblem[] {
  const seen = new Map<string, number>();
  const problems: RawProblem[] = [];
  mappings.forEach((m, index) => {
    const key = `${m.type}\u0000${plugins.get(m.type).identity(m)}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, index);
      return;
    }
    const other = mappings[first] as SourceMapping;
    problems.push({
      path: ['mappings', index],
      message: `mapping "${m.name}" reads the same source with the same function as mapping "${other.name}" (line ${lineOf(first)}): Lambda allows one event source mapping per function and source; remove one or merge them`,
      target: 'key',
    });
  });
  return problems;
}
