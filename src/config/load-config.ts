/**
 * The config pipeline: read → mask `${VAR}` → parse YAML → substitute → JSON Schema → cross-field
 * checks → compile. Every problem found on the way is collected, located (file:line:column, key
 * path) and thrown as one `SluiceError` (`CONFIG_INVALID`, `context.problems`). Only
 * `loadConfig` touches the disk (the file, and whether folders and files exist).
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SluiceError } from '../errors.ts';
import type { SourcePlugins } from '../connectors/plugin.ts';
import {
  collectRefs,
  Problems,
  type CheckInputs,
  type FilterPatternValidator,
} from './check-context.ts';
import { compileConfig } from './compile.ts';
import {
  configInvalid,
  configNotFound,
  type ConfigProblem,
  type RawProblem,
} from './config-error.ts';
import { maskExpressions, substituteScalars } from './interpolate.ts';
import type { SluiceConfigOptions } from './options.ts';
import { validateFilterPattern as validateEventPattern } from '../batching/filter-pattern.ts';
import { schemaProblems } from './schema-problems.ts';
import type { SluiceConfig } from './types.ts';
import { checkApi } from './validate-api.ts';
import { checkConnections } from './validate-connections.ts';
import { checkFunctions } from './validate-functions.ts';
import { checkMappings, duplicateMappingProblems } from './validate-mappings.ts';
import { checkTriggers } from './validate-triggers.ts';
import { locate, parseYaml, toPlainData } from './yaml-source.ts';

export interface LoadConfigOptions {
  /** The source types of this build (`src/app/plugins.ts` registers sluice's). */
  plugins: SourcePlugins;
  /** Variables for `${VAR}`. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Deep check of filter patterns. Default: the filter engine's EventBridge grammar check. */
  validateFilterPattern?: FilterPatternValidator;
  /** Clock for "not in the future" checks (epoch ms). Default `Date.now()`. */
  now?: number;
}

export interface LoadConfigFromStringOptions extends LoadConfigOptions {
  /** Name used in messages (and `SluiceConfig.file`). Default `<string>`. */
  file?: string;
  /** Folder relative paths are resolved against. Default the file's folder, else the cwd. */
  baseDir?: string;
  /** Default: a real `stat`. */
  dirExists?: (path: string) => boolean;
  /** Default: a real `stat`. */
  fileExists?: (path: string) => boolean;
}

function statIs(kind: 'dir' | 'file'): (path: string) => boolean {
  return (path) => {
    try {
      const stat = statSync(path);
      return kind === 'dir' ? stat.isDirectory() : stat.isFile();
    } catch {
      return false;
    }
  };
}

/** Loads, checks and compiles a config file. Throws CONFIG_NOT_FOUND or CONFIG_INVALID. */
export async function loadConfig(
  path: string,
  env: Record<string, string | undefined>,
  options: Omit<LoadConfigOptions, 'env'>,
): Promise<SluiceConfig> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw configNotFound(file, error);
    if (code === 'EISDIR') {
      throw new SluiceError('CONFIG_NOT_FOUND', `Config path is a folder, not a file: ${file}`, {
        context: { file },
      });
    }
    throw new SluiceError('CONFIG_INVALID', `Cannot read config file ${file}: ${String(error)}`, {
      context: { file },
      cause: error,
    });
  }
  return loadConfigFromString(text, { ...options, env, file, baseDir: dirname(file) });
}

/** The whole pipeline on text already read. Synchronous apart from the injected checks. */
export function loadConfigFromString(
  text: string,
  options: LoadConfigFromStringOptions,
): SluiceConfig {
  const file = options.file ?? '<string>';
  const baseDir = resolve(
    options.baseDir ?? (options.file === undefined ? '.' : dirname(options.file)),
  );
  const env = options.env ?? process.env;
  const inputs: CheckInputs = {
    baseDir,
    env,
    dirExists: options.dirExists ?? statIs('dir'),
    fileExists: options.fileExists ?? statIs('file'),
    now: options.now ?? Date.now(),
    plugins: options.plugins,
    validateFilterPattern:
      options.validateFilterPattern ??
      ((parsed) =>
        validateEventPattern(typeof parsed === 'string' ? parsed : JSON.stringify(parsed))),
  };

  const { masked, expressions } = maskExpressions(text);
  const parsed = parseYaml(masked, file);
  const place = (problem: RawProblem) => locate(parsed, text, file, problem);
  if (parsed.syntaxProblems.length > 0) throw configInvalid(file, parsed.syntaxProblems);

  const substitution = substituteScalars(parsed.doc, expressions, env);
  const plain = toPlainData(parsed, file);
  if (plain.problem) throw configInvalid(file, [plain.problem]);
  const value = plain.value;
  const raw: RawProblem[] = [...substitution, ...schemaProblems(value, options.plugins)];
  const problems = new Problems();
  const refs = collectRefs(value, options.plugins);
  checkFunctions(value, refs, inputs, problems);
  checkConnections(value, inputs, problems);
  checkMappings(value, refs, inputs, problems);
  checkTriggers(value, refs, problems);
  checkApi(value, problems);
  raw.push(...problems.list);

  if (raw.length > 0) {
    // A value whose substitution failed is reported once, for the variable, not again for its shape.
    const failed = new Set(substitution.map((p) => JSON.stringify(p.path)));
    const kept = raw.filter(
      (p) => p.sourceOffset !== undefined || !failed.has(JSON.stringify(p.path)),
    );
    throw configInvalid(file, kept.map(place));
  }
  const config = compileConfig(value as SluiceConfigOptions, {
    file,
    baseDir,
    dirExists: inputs.dirExists,
    env,
    plugins: options.plugins,
  });
  refuseDuplicateMappings(config, place, options.plugins);
  return config;
}

/**
 * Two mappings with the same function and source are a problem at the later one (Lambda refuses
 * the second). Found on compiled mappings: the identity is the plugin's, on its compiled form
 * (defaults filled in), so `topic: a` and `topic: a, consumerGroupId: <the default>` match.
 */
function refuseDuplicateMappings(
  config: SluiceConfig,
  place: (problem: RawProblem) => ConfigProblem,
  plugins: SourcePlugins,
): void {
  const lineOf = (index: number) => place({ path: ['mappings', index], message: '' }).line;
  const duplicates = duplicateMappingProblems(config.mappings, plugins, lineOf);
  if (duplicates.length > 0) throw configInvalid(config.file, duplicates.map(place));
}
