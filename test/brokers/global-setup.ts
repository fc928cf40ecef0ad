import type { TestProject } from 'vitest/node';
import { ensureAwsCli } from '../support/aws-cli.ts';
import { startBrokers, stopBrokers } from './launcher.ts';
import type { BrokerEndpoint } from './types.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    brokers: Record<string, BrokerEndpoint>;
  }
}

/**
 * Starts every real broker once for the integration project (reusing ones already running) and
 * stops, after the run, the ones it started; installs the AWS CLI v2 the fidelity tests drive. SLUICE_KEEP_BROKERS=1 leaves them up for the next run.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  // The fidelity suite drives the AWS CLI v2; a fresh machine gets Debian's awscli here.
  const [brokers, awsCli] = await Promise.all([startBrokers(), ensureAwsCli()]);
  const summary = Object.values(brokers)
    .map(
      (b) =>
        `${b.name}${b.version ? ` ${b.version}` : ''} (${b.mode}${b.startedHere ? ', started' : ', reused'})`,
    )
    .join(', ');
  console.log(`[brokers] ready in ${Date.now() - started} ms: ${summary}; ${awsCli}`);
  project.provide('brokers', brokers);
  return async () => {
    if (process.env.SLUICE_KEEP_BROKERS === '1') return;
    await stopBrokers(brokers);
  };
}
