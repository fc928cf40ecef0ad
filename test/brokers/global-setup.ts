import type { TestProject } from 'vitest/node';
import { startBrokers, stopBrokers } from './launcher.ts';
import type { BrokerEndpoint } from './types.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    brokers: Record<string, BrokerEndpoint>;
  }
}

/**
 * Starts every real broker once for the integration project (reusing ones already running) and
 * stops, after the run, the ones it started. SLUICE_KEEP_BROKERS=1 leaves them up for the next run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const brokers = await startBrokers();
  const summary = Object.values(brokers)
    .map(
      (b) =>
        `${b.name}${b.version ? ` ${b.version}` : ''} (${b.mode}${b.startedHere ? ', started' : ', reused'})`,
    )
    .join(', ');
  console.log(`[brokers] ready in ${Date.now() - started} ms: ${summary}`);
  project.provide('brokers', brokers);
  return async () => {
    if (process.env.SLUICE_KEEP_BROKERS === '1') return;
    await stopBrokers(brokers);
  };
}
