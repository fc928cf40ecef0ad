/**
 * Filter patterns arrive as JSON text inside YAML. This parses them and reports JSON syntax errors
 * with their position; the EventBridge grammar itself is checked by a pluggable validator
 * (`CheckInputs.validateFilterPattern`) that the filter engine provides.
 */

export type ParsedPattern =
  | { ok: true; value: Record<string, unknown> }
  | { ok: false; message: string; offset: number | undefined };

export function parsePattern(text: string): ParsedPattern {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const raw = error instanceof Error ? error.message : String(error);
    const position = /at position (\d+)/.exec(raw);
    const offset = position === null ? undefined : Number(position[1]);
    const where = /\(line \d+ column \d+\)/.exec(raw)?.[0] ?? '';
    const what = raw.replace(/ in JSON at position \d+.*$/s, '').replace(/^JSON Parse error: /, '');
    return {
      ok: false,
      message: `${what}${where === '' ? '' : ` ${where.replace('(', '(pattern ')}`}`,
      offset,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      ok: false,
      message: 'must be a JSON object such as {"body": {"type": ["order"]}}',
      offset: undefined,
    };
  }
  return { ok: true, value: value as Record<string, unknown> };
}
