/** Cross-field checks of `triggers`: unique names and paths, function references. */
import { didYouMean } from './suggest.ts';
import * as d from './defaults.ts';
import type { Problems, Refs } from './check-context.ts';
import { isObj, str } from './check-context.ts';

/** Routes of the API server a trigger path may not shadow. */
const RESERVED_PATHS = /^\/(20\d\d-\d\d-\d\d(\/|$)|healthz$|readyz$|metrics$)/;

export function triggerPath(trigger: Record<string, unknown>): string | undefined {
  const path = str(trigger.path);
  if (path !== undefined) return path;
  const name = str(trigger.name);
  return name === undefined ? undefined : `${d.TRIGGER_PATH_PREFIX}${name}`;
}

export function checkTriggers(doc: unknown, refs: Refs, problems: Problems): void {
  const triggers = isObj(doc) && Array.isArray(doc.triggers) ? (doc.triggers as unknown[]) : [];
  const names = new Map<string, number>();
  const paths = new Map<string, number>();
  triggers.forEach((t, index) => {
    if (!isObj(t)) return;
    const name = str(t.name);
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) {
        problems.add(
          ['triggers', index, 'name'],
          `must be unique, got ${JSON.stringify(name)} (also triggers[${first}].name)`,
        );
      } else names.set(name, index);
    }
    const fn = str(t.function);
    if (fn !== undefined && !refs.functions.has(fn)) {
      problems.add(
        ['triggers', index, 'function'],
        `names function ${JSON.stringify(fn)}, which is not declared under functions${didYouMean(fn, refs.functions)}`,
      );
    }
    const path = triggerPath(t);
    if (path === undefined || typeof t.path === 'number') return;
    const at = t.path === undefined ? ['triggers', index, 'name'] : ['triggers', index, 'path'];
    if (RESERVED_PATHS.test(path)) {
      problems.add(
        at,
        `must not shadow an API route (/2015-03-31/…, /healthz, /readyz, /metrics), got ${JSON.stringify(path)}`,
      );
    }
    const first = paths.get(path);
    if (first !== undefined) {
      problems.add(at, `gives path ${JSON.stringify(path)}, already used by triggers[${first}]`);
    } else paths.set(path, index);
  });
}
