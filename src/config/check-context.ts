/**
 * What the cross-field checks share: helpers to read a half-valid document safely (the schema may
 * have failed elsewhere: checks skip what is malformed rather than throw) and the inputs that come
 * from outside the document (folders and files that exist, the clock, the filter hook).
 */
import type { SourcePlugins } from '../connectors/plugin.ts';
import type { PathSegment, RawProblem } from './config-error.ts';

/** Validates one parsed filter pattern; returns messages (empty when fine). */
export type FilterPatternValidator = (pattern: unknown, source: string) => string[];

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
  /** The source types of this build: each one's checks. */
  plugins: SourcePlugins;
}

/** Names the document declares, for reference checks. */
export interface Refs {
  functions: Set<string>;
  /** Connection name → type (only connections with a valid type). */
  connections: Map<string, string>;
  /** The source types of this build (what a destination string may name besides a function). */
  plugins: SourcePlugins;
}

export { isObj, objAt, strValue as str, numValue as num } from '../connectors/schema-kit.ts';
export type { Obj } from '../connectors/schema-kit.ts';
import { isObj, objAt } from '../connectors/schema-kit.ts';

/** Collects problems; `add(path, message)` reads better than building objects inline. */
export class Problems {
  readonly list: RawProblem[] = [];
  add(path: PathSegment[], message: string, extra: Partial<RawProblem> = {}): void {
    this.list.push({ path, message, ...extra });
  }
}

export function collectRefs(doc: unknown, plugins: SourcePlugins): Refs {
  const functions = new Set(Object.keys(objAt(doc, 'functions') ?? {}));
  const connections = new Map<string, string>();
  for (const [name, connection] of Object.entries(objAt(doc, 'connections') ?? {})) {
    const type = isObj(connection) ? connection.type : undefined;
    if (plugins.has(type)) connections.set(name, type);
  }
  return { functions, connections, plugins };
}
