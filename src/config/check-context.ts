/**
 * What the cross-field checks share: helpers to read a half-valid document safely (the schema may
 * have failed elsewhere: checks skip what is malformed rather than throw) and the inputs that come
 * from outside the document (folders and files that exist, the clock, the filter hook).
 */
import type { SourceType } from './defaults.ts';
import type { PathSegment, RawProblem } from './config-error.ts';

/** Validates one parsed filter pattern; returns messages (empty when fine). */
export type FilterPatternValidator = (pattern: unknown, source: SourceType) => string[];

export interface CheckInputs {
  /** Folder relative paths are resolved against (the config file's folder). */
  baseDir: string;
  /** True when the absolute path is an existing folder. */
  dirExists: (path: string) => boolean;
  /** True when the absolute path is an existing file. */
  fileExists: (path: string) => boolean;
  /** Epoch ms, for "not in the future" checks. */
  now: number;
  /** sluice's environment (the variables `${VAR}` reads), for function credentials. */
  env: Record<string, string | undefined>;
  /** Deep filter-pattern check (the EventBridge grammar), plugged in by the filter engine. */
  validateFilterPattern: FilterPatternValidator | undefined;
}

/** Names the document declares, for reference checks. */
export interface Refs {
  functions: Set<string>;
  /** Connection name → type (only connections with a valid type). */
  connections: Map<string, SourceType>;
}

export type Obj = Record<string, unknown>;

export function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function objAt(value: unknown, key: string): Obj | undefined {
  if (!isObj(value)) return undefined;
  const child = value[key];
  return isObj(child) ? child : undefined;
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Collects problems; `add(path, message)` reads better than building objects inline. */
export class Problems {
  readonly list: RawProblem[] = [];
  add(path: PathSegment[], message: string, extra: Partial<RawProblem> = {}): void {
    this.list.push({ path, message, ...extra });
  }
}

export function collectRefs(doc: unknown): Refs {
  const functions = new Set(Object.keys(objAt(doc, 'functions') ?? {}));
  const connections = new Map<string, SourceType>();
  for (const [name, connection] of Object.entries(objAt(doc, 'connections') ?? {})) {
    const type = isObj(connection) ? connection.type : undefined;
    if (type === 'sqs' || type === 'kafka' || type === 'rabbitmq') connections.set(name, type);
  }
  return { functions, connections };
}
