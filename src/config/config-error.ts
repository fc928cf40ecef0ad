/**
 * Config problems and the one error that carries them. A problem is first found against a key
 * path (pure checks never see the file), then located (file, line, column) by the loader.
 */
import { SluiceError } from '../errors.ts';

export type PathSegment = string | number;

/** A problem found by a check, before it is located in the file. */
export interface RawProblem {
  path: PathSegment[];
  /** Text after the key path, e.g. `must be an integer from 128 to 10240 (MB), got 64`. */
  message: string;
  /** Point at the key (unknown or missing keys) rather than the value. Default 'value'. */
  target?: 'key' | 'value';
  /** Character offset inside the string value (e.g. a JSON syntax error), when known. */
  offsetInValue?: number;
  /** Exact source offset, when the check knows it (e.g. a `${VAR}` expression). */
  sourceOffset?: number;
}

/** A located problem, as listed in the error and kept in `context.problems`. */
export interface ConfigProblem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Key path, e.g. `functions.resize.memorySize` or `mappings[0].batchSize`. */
  path: string;
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['functions', 'resize', 'memorySize']` → `functions.resize.memorySize`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out === '' ? '(top level)' : out;
}

const SECRET_KEY = /(token|password|passwd|secret|credential|passphrase|apikey|privatekey)/i;

/** True when the value at this path must never be printed. */
export function isSecretPath(path: readonly PathSegment[]): boolean {
  return path.some((segment) => typeof segment === 'string' && SECRET_KEY.test(segment));
}

/** Replaces the user-info part of URLs (`amqp://u:p@host` → `amqp://***@host`). */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1***@');
}

const MAX_SHOWN = 80;

/** Shows a received value in a message: JSON-ish, shortened, secrets as `***`. */
export function showValue(value: unknown, path: readonly PathSegment[]): string {
  if (isSecretPath(path)) return '***';
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = redactUrlCredentials(text);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

/** Orders problems by position and drops exact repeats. */
export function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  const out: ConfigProblem[] = [];
  for (const p of problems) {
    const key = `${p.line}:${p.column}:${p.path}:${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** `file:line:column path message`, the form editors and terminals turn into links. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column} ${p.path} ${p.message}`;
}

/** One CONFIG_INVALID error listing every problem; `context.problems` holds them as data. */
export function configInvalid(file: string, problems: readonly ConfigProblem[]): SluiceError {
  const sorted = sortProblems(problems);
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  const lines = sorted.map((p) => `  ${formatProblem(p)}`);
  return new SluiceError(
    'CONFIG_INVALID',
    `Invalid config ${file}: ${count}\n${lines.join('\n')}`,
    {
      context: { file, problems: sorted },
    },
  );
}

export function configNotFound(file: string, cause?: unknown): SluiceError {
  return new SluiceError('CONFIG_NOT_FOUND', `Config file not found: ${file}`, {
    context: { file },
    cause,
  });
}
