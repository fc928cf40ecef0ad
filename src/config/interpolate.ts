/**
 * `${VAR}` and `${VAR:-default}` substitution from the environment.
 *
 * Substitution happens in two steps so that it can neither break the YAML nor move positions:
 * 1. `maskExpressions` swaps every expression in the text for a placeholder of the same length made
 *    of private-use characters (valid in any YAML scalar, even inside `{ … }` flow maps, where a raw
 *    `${X}` would not parse). Line and column numbers stay those of the file.
 * 2. After parsing, `substituteScalars` replaces placeholders inside scalars only, so expressions in
 *    comments are ignored, and a value can never inject YAML structure. A plain (unquoted) scalar
 *    that is exactly one expression takes the type the text would have had (`port: ${PORT}` → a
 *    number); quoted scalars stay strings.
 *
 * `${VAR:-default}` uses the default when VAR is unset or empty (`${VAR:-}` = empty is allowed);
 * `${VAR}` with VAR unset is a problem naming the variable. `$${X}` writes a literal `${X}`.
 */
import { isScalar, type Document, type Scalar } from 'yaml';
import type { PathSegment, RawProblem } from './config-error.ts';
import { walkScalars } from './yaml-source.ts';

export interface Expression {
  /** Offset of the expression in the file. */
  offset: number;
  /** The expression as written, e.g. `${PORT:-3001}`. */
  text: string;
  placeholder: string;
  kind: 'variable' | 'literal' | 'invalid';
  /** Variable name (kind 'variable'). */
  name?: string;
  /** Default text after `:-`, if any (kind 'variable'). */
  defaultValue?: string;
}

const EXPRESSION = /\$(\$?)\{([^}\n]*)\}/g;
const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const PLACEHOLDER_BASE = 0xe000;
const PLACEHOLDER_FILL = '\uf8ff';
const MAX_EXPRESSIONS = 0xf8fe - PLACEHOLDER_BASE;
const PLACEHOLDER = /[\ue000-\uf8fe]\uf8ff*/g;
const HAS_PLACEHOLDER = /[\ue000-\uf8fe]/;

/** Step 1: the text with same-length placeholders, and what each placeholder stands for. */
export function maskExpressions(text: string): { masked: string; expressions: Expression[] } {
  const expressions: Expression[] = [];
  const masked = text.replace(
    EXPRESSION,
    (match: string, escape: string, inner: string, offset: number) => {
      if (expressions.length >= MAX_EXPRESSIONS) return match;
      const placeholder =
        String.fromCharCode(PLACEHOLDER_BASE + expressions.length) +
        PLACEHOLDER_FILL.repeat(match.length - 1);
      if (escape === '$') {
        expressions.push({ offset, text: match, placeholder, kind: 'literal' });
        return placeholder;
      }
      const ref = REFERENCE.exec(inner);
      if (ref === null) {
        expressions.push({ offset, text: match, placeholder, kind: 'invalid' });
      } else {
        const expression: Expression = { offset, text: match, placeholder, kind: 'variable' };
        expression.name = ref[1] as string;
        if (ref[2] !== undefined) expression.defaultValue = ref[2];
        expressions.push(expression);
      }
      return placeholder;
    },
  );
  return { masked, expressions };
}

type Env = Record<string, string | undefined>;

/** Resolves one expression; a string, or a problem message. */
function resolve(expression: Expression, env: Env): { value: string } | { problem: string } {
  if (expression.kind === 'literal') return { value: expression.text.slice(1) };
  if (expression.kind === 'invalid') {
    return {
      problem: `has ${JSON.stringify(expression.text)}, which is not a variable reference (write \${NAME} or \${NAME:-default}; $\${ for a literal \${)`,
    };
  }
  const name = expression.name as string;
  const set = env[name];
  if (expression.defaultValue !== undefined) {
    return { value: set === undefined || set === '' ? expression.defaultValue : set };
  }
  if (set === undefined) {
    return {
      problem: `uses \${${name}} but environment variable ${name} is not set (set it, or give a default: \${${name}:-value})`,
    };
  }
  return { value: set };
}

/** The type YAML's core schema would give this text as a plain scalar (numbers, booleans, null). */
export function coercePlain(text: string): string | number | boolean | null {
  if (/^[-+]?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (/^(true|True|TRUE)$/.test(text)) return true;
  if (/^(false|False|FALSE)$/.test(text)) return false;
  if (/^(null|Null|NULL|~)$/.test(text)) return null;
  return text;
}

/**
 * Step 2: replaces placeholders in every scalar of the parsed document (keys too), in place.
 * Returns the problems (unset variables, malformed expressions), each at the expression's offset.
 */
export function substituteScalars(
  doc: Document,
  expressions: readonly Expression[],
  env: Env,
): RawProblem[] {
  if (expressions.length === 0) return [];
  const problems: RawProblem[] = [];
  walkScalars(doc, (scalar: Scalar, path: PathSegment[]) => {
    const value: unknown = scalar.value;
    if (typeof value !== 'string' || !HAS_PLACEHOLDER.test(value)) return;
    let whole: boolean = false;
    const replaced = value.replace(PLACEHOLDER, (match: string) => {
      const index = match.charCodeAt(0) - PLACEHOLDER_BASE;
      const expression = expressions[index];
      if (expression === undefined || expression.placeholder !== match) return match;
      whole = match === value;
      const result = resolve(expression, env);
      if ('problem' in result) {
        problems.push({ path, message: result.problem, sourceOffset: expression.offset });
        return '';
      }
      return result.value;
    });
    const plainWhole = whole && scalar.type === 'PLAIN' && isScalar(scalar);
    scalar.value = plainWhole ? coercePlain(replaced) : replaced;
  });
  return problems;
}
