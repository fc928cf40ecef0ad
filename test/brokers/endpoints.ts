import { inject } from 'vitest';
import type { BrokerEndpoint, BrokerName } from './types.ts';

/** The endpoint of a broker started by the integration global set-up (use inside tests). */
export function broker(name: BrokerName): BrokerEndpoint {
  const endpoint = inject('brokers')[name];
  if (!endpoint) throw new Error(`broker ${name} was not started by the global set-up`);
  return endpoint;
}

/** A name unique to this test run, for topics/queues/buckets (tests never share broker objects). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
