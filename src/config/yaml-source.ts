/**
 * The YAML side of the pipeline: parse with positions, walk scalars with their key paths, and turn
 * a key path back into a file position for error messages.
 */
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
  type Scalar,
} from 'yaml';
import type { ConfigProblem, PathSegment, RawProblem } from './config-error.ts';
import { formatPath } from './config-error.ts';

export interface ParsedYaml {
  doc: Document;
  lineCounter: LineCounter;
  /** YAML syntax errors, located. */
  syntaxProblems: ConfigProblem[];
}

/** Parses one YAML document (YAML 1.2 core schema, `<<` merge keys allowed). */
export function parseYaml(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    merge: true,
    uniqueKeys: true,
  });
  const syntaxProblems = doc.errors.map((error) => {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    return {
      file,
      line,
      column: col,
      path: '(yaml)',
      message: `is not valid YAML: ${error.message}`,
    };
  });
  return { doc, lineCounter, syntaxProblems };
}

/** Aliases expanded at most, in all: a file with more is an alias bomb ("billion laughs"). */
const MAX_ALIAS_COUNT = 1000;

/**
 * The document as plain data, or a located problem when expanding its aliases would exhaust
 * memory (the `yaml` package stops at `maxAliasCount` with a ReferenceError; that is the file's
 * fault, so it is a config problem, not a crash).
 */
export function toPlainData(
  parsed: ParsedYaml,
  file: string,
): { value: unknown; problem?: undefined } | { value?: undefined; problem: ConfigProblem } {
  try {
    return { value: parsed.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {} };
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    let offset = 0;
    visit(parsed.doc, {
      Alias: (_key, node) => {
        offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    const { line, col } = parsed.lineCounter.linePos(offset);
    return {
      problem: {
        file,
        line,
        column: col,
        path: '(yaml)',
        message: `expands aliases more than ${MAX_ALIAS_COUNT} times (an alias bomb?); write the values out`,
      },
    };
  }
}

/** Calls `visit` for every scalar (map keys included) with the key path it belongs to. */
export function walkScalars(
  doc: Document,
  visit: (scalar: Scalar, path: PathSegment[]) => void,
): void {
  const walk = (node: unknown, path: PathSegment[]): void => {
    if (isScalar(node)) visit(node, path);
    else if (isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          visit(pair.key, path);
          walk(pair.value, [...path, String(pair.key.value)]);
        } else walk(pair.value, path);
      }
    } else if (isSeq(node)) node.items.forEach((item, index) => walk(item, [...path, index]));
  };
  walk(doc.contents, []);
}

interface Found {
  /** Deepest node reached along the path. */
  node: Node | null;
  /** Key scalar of the deepest map entry reached. */
  key: Node | null;
  /** True when the whole path was found. */
  complete: boolean;
}

function find(doc: Document, path: readonly PathSegment[]): Found {
  let node: unknown = doc.contents;
  let key: Node | null = null;
  let reached: Node | null = (doc.contents as Node | null) ?? null;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (pair === undefined) return { node: reached, key, complete: false };
      key = pair.key as Node;
      node = pair.value;
      reached = (node as Node | null) ?? key;
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      node = node.items[segment];
      key = null;
      reached = (node as Node | null) ?? reached;
    } else {
      return { node: reached, key, complete: false };
    }
  }
  return { node: (node as Node | null) ?? null, key, complete: true };
}

function startOf(node: Node | null): number | undefined {
  return node?.range?.[0];
}

/** Source offset inside a one-line scalar written without escapes, else undefined. */
function offsetInScalar(text: string, node: Node | null, inner: number): number | undefined {
  const range = node?.range;
  if (!isScalar(node) || range == null || typeof node.value !== 'string') return undefined;
  const quoted = node.type === 'QUOTE_SINGLE' || node.type === 'QUOTE_DOUBLE';
  if (!quoted && node.type !== 'PLAIN') return undefined;
  const raw = text.slice(range[0], range[1]);
  const body = quoted ? raw.slice(1, -1) : raw;
  return body === node.value ? range[0] + (quoted ? 1 : 0) + inner : undefined;
}

/** Gives a problem its file position: the value (or key) at its path, or the nearest ancestor. */
export function locate(
  parsed: ParsedYaml,
  text: string,
  file: string,
  problem: RawProblem,
): ConfigProblem {
  let offset = problem.sourceOffset;
  if (offset === undefined) {
    const found = find(parsed.doc, problem.path);
    if (found.complete) {
      if (problem.target === 'key') offset = startOf(found.key) ?? startOf(found.node);
      else {
        if (problem.offsetInValue !== undefined) {
          offset = offsetInScalar(text, found.node, problem.offsetInValue);
        }
        offset ??= startOf(found.node) ?? startOf(found.key);
      }
    } else offset = startOf(found.key) ?? startOf(found.node);
  }
  const { line, col } = parsed.lineCounter.linePos(offset ?? 0);
  return { file, line, column: col, path: formatPath(problem.path), message: problem.message };
}
