/** Cross-field checks of `connections`: each connection's plugin checks its own keys. */
import { showValue } from './config-error.ts';
import type { CheckInputs, Problems } from './check-context.ts';
import { isObj, objAt } from './check-context.ts';

export function checkConnections(doc: unknown, inputs: CheckInputs, problems: Problems): void {
  const ctx = { ...inputs, problems, show: showValue };
  for (const [name, c] of Object.entries(objAt(doc, 'connections') ?? {})) {
    if (!isObj(c) || !inputs.plugins.has(c.type)) continue;
    inputs.plugins.get(c.type).checkConnection?.(name, c, ctx);
  }
}
