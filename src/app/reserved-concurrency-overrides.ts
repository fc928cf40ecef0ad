import type { Logger } from 'pino';
import type { ConcurrencyController } from '../invoker/concurrency.ts';
import type { StateStore } from '../store/state-store.ts';

/**
 * Re-applies reserved concurrency set through the API in earlier runs (PutFunctionConcurrency /
 * DeleteFunctionConcurrency), over what the config file says. An override the current limits
 * cannot satisfy is logged and skipped, so a smaller engine still starts.
 */
export async function applyStoredReservedConcurrency(
  store: StateStore,
  concurrency: ConcurrencyController,
  knownFunction: (name: string) => boolean,
  logger: Logger,
): Promise<void> {
  for (const [name, reserved] of await store.listReservedConcurrency()) {
    if (!knownFunction(name)) continue;
    try {
      concurrency.setReserved(name, reserved ?? undefined);
    } catch (err) {
      logger.warn(
        { function: name, reserved, error: (err as Error).message },
        'stored reserved concurrency no longer fits the engine limits; ignoring it',
      );
    }
  }
}

/** The API server's `onReservedConcurrencyChange` hook: persists the change. */
export function persistReservedConcurrency(
  store: StateStore,
): (functionName: string, reserved: number | undefined) => Promise<void> {
  return (functionName, reserved) => store.setReservedConcurrency(functionName, reserved ?? null);
}
