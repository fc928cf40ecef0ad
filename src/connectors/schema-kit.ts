/**
 * Building blocks of the config's JSON Schema (draft-07) and of the checks that read a half-valid
 * document, shared by the config core and the source plugins' fragments. `x-expected` is ours: the
 * phrase error messages use for what is allowed at that node.
 */
export type JsonSchema = Record<string, unknown>;
type Schema = JsonSchema;

export function int(
  min: number,
  max: number,
  unit: string,
  description: string,
  def?: number,
): Schema {
  const s: Schema = {
    type: 'integer',
    minimum: min,
    maximum: max,
    description,
    'x-expected': `an integer from ${min} to ${max}${unit === '' ? '' : ` (${unit})`}`,
  };
  if (def !== undefined) s.default = def;
  return s;
}

export function num(
  min: number,
  max: number,
  unit: string,
  description: string,
  def?: number,
): Schema {
  const s: Schema = {
    type: 'number',
    minimum: min,
    maximum: max,
    description,
    'x-expected': `a number from ${min} to ${max}${unit === '' ? '' : ` (${unit})`}`,
  };
  if (def !== undefined) s.default = def;
  return s;
}

export function str(description: string, extra: Schema = {}): Schema {
  return { type: 'string', description, 'x-expected': 'a string', ...extra };
}

export function oneOfStrings(values: readonly string[], description: string, def?: string): Schema {
  const s: Schema = {
    type: 'string',
    enum: [...values],
    description,
    'x-expected': `one of ${values.join(', ')}`,
  };
  if (def !== undefined) s.default = def;
  return s;
}

export function bool(description: string, def: boolean): Schema {
  return { type: 'boolean', description, default: def, 'x-expected': 'true or false' };
}

export function obj(
  description: string,
  properties: Record<string, Schema>,
  required: string[] = [],
): Schema {
  const s: Schema = {
    type: 'object',
    description,
    additionalProperties: false,
    properties,
    'x-expected': 'a map of keys to values',
  };
  if (required.length > 0) s.required = required;
  return s;
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

export function strValue(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function numValue(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
