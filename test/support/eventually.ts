import { inspect } from 'node:util';

/** How long `eventually` keeps asking and how often. The limit only stops a hung test. */
export interface EventuallyOptions {
  limitMs?: number;
  intervalMs?: number;
}

/**
 * A condition a test waits for. It holds when it returns anything but `false` without throwing,
 * so both `() => rows.length >= 3` and `() => expect(rows).toHaveLength(3)` work.
 */
export type Condition = () => boolean | void | Promise<boolean | void>;

/** What the condition last gave: a result other than success, or the error it threw. */
type LastSeen = { error: unknown } | { value: unknown };

const DEFAULT_LIMIT_MS = 10_000;
const DEFAULT_INTERVAL_MS = 10;

/**
 * Resolves once `condition` holds, asking again every `intervalMs`. Nothing here asserts a
 * timing: `limitMs` only turns a hang into a failure that names `what` was awaited and the last
 * result or error the condition gave.
 */
export async function eventually(
  condition: Condition,
  what: string,
  { limitMs = DEFAULT_LIMIT_MS, intervalMs = DEFAULT_INTERVAL_MS }: EventuallyOptions = {},
): Promise<void> {
  const startedMs = Date.now();
  let attempts = 0;
  let last: LastSeen;
  for (;;) {
    attempts += 1;
    try {
      const value = await condition();
      if (value !== false) return;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() - startedMs >= limitMs)
      throw new EventuallyTimeout(what, limitMs, attempts, last);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The failure `eventually` throws: what was awaited, for how long, and what was last seen. */
export class EventuallyTimeout extends Error {
  readonly what: string;
  readonly last: LastSeen;

  constructor(what: string, limitMs: number, attempts: number, last: LastSeen) {
    const seen =
      'error' in last
        ? `last error: ${describeError(last.error)}`
        : `last result: ${inspect(last.value)}`;
    super(`gave up waiting for: ${what} (${attempts} checks over ${limitMs} ms; ${seen})`, {
      cause: 'error' in last ? last.error : undefined,
    });
    this.name = 'EventuallyTimeout';
    this.what = what;
    this.last = last;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : inspect(error);
}
