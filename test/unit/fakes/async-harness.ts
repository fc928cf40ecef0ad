import { AsyncQueue } from '../../../src/async/async-queue.ts';
import { AsyncWorker, type AsyncWorkerOptions } from '../../../src/async/async-worker.ts';
import { DeliverySender } from '../../../src/async/deliveries.ts';
import type { AsyncConfig, DestinationConfig } from '../../../src/config/types.ts';
import type { Destination, DestinationMessage } from '../../../src/destinations/destination.ts';
import { ConcurrencyController, type ConcurrencyLimits } from '../../../src/invoker/concurrency.ts';
import { EnvironmentPool } from '../../../src/invoker/environment-pool.ts';
import { Invoker } from '../../../src/invoker/invoker.ts';
import type { InvokeRequest } from '../../../src/invoker/types.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { EngineMetrics } from '../../../src/observability/metrics.ts';
import { SqliteStore } from '../../../src/store/sqlite-store.ts';
import { FakeEnvironment } from './fake-environment.ts';
import { fakeSpec } from './fake-spec.ts';

export const spec = (name: string) => fakeSpec(name);

export const asyncConfig = (over: Partial<AsyncConfig> = {}): AsyncConfig => ({
  maximumRetryAttempts: 2,
  maximumEventAgeMs: 21_600_000,
  retryDelaysMs: [10, 20],
  onSuccess: undefined,
  onFailure: undefined,
  deadLetter: undefined,
  ...over,
});

export const memoryDestination = (name: string): DestinationConfig => ({
  type: 'function',
  uri: `memory:${name}`,
  functionName: name,
});

/** In-memory destinations by uri; `failing` makes one refuse messages until cleared. */
export class MemoryDestinations {
  readonly sent = new Map<string, DestinationMessage[]>();
  readonly failing = new Set<string>();

  get(config: DestinationConfig): Destination {
    return {
      description: config.uri,
      send: async (m) => {
        if (this.failing.has(config.uri)) throw new Error(`${config.uri} is down`);
        const list = this.sent.get(config.uri) ?? [];
        list.push(m);
        this.sent.set(config.uri, list);
      },
      stop: async () => undefined,
    };
  }

  records(name: string): Record<string, unknown>[] {
    return (this.sent.get(`memory:${name}`) ?? []).map(
      (m) => JSON.parse(m.body) as Record<string, unknown>,
    );
  }
}

export type Handler = (req: InvokeRequest) => Promise<unknown>;

export interface HarnessOptions {
  path: string;
  handler: Handler;
  configs: Record<string, AsyncConfig>;
  limits?: ConcurrencyLimits;
  worker?: Partial<AsyncWorkerOptions>;
}

/** A real queue, worker, Invoker and SQLite store; fake environments and destinations. */
export function createHarness(o: HarnessOptions) {
  const logger = silentLogger();
  const metrics = new EngineMetrics();
  const store = new SqliteStore({ path: o.path });
  const pool = new EnvironmentPool({
    createEnvironment: (opts) => new FakeEnvironment(opts, (req) => o.handler(req)),
    onLog: () => undefined,
    logger,
    metrics,
    reclaimIntervalMs: 3_600_000,
  });
  const invoker = new Invoker({
    concurrency: new ConcurrencyController(
      o.limits ?? { engineLimit: 50, reserved: {}, minimumUnreserved: 10 },
    ),
    pool,
    logger,
    metrics,
  });
  for (const name of Object.keys(o.configs)) invoker.register(spec(name));
  const queue = new AsyncQueue({ store, metrics });
  const destinations = new MemoryDestinations();
  const worker = new AsyncWorker({
    store,
    queue,
    invoker,
    configs: { get: (fn) => o.configs[fn] },
    deliveries: new DeliverySender({
      destinations,
      logger,
      metrics,
      retries: 1,
      minTimeoutMs: 5,
      maxTimeoutMs: 10,
    }),
    region: 'us-east-1',
    accountId: '000000000000',
    logger,
    metrics,
    pollIntervalMs: 50,
    ...o.worker,
  });
  return { store, invoker, queue, worker, destinations, metrics, pool };
}

export async function metricValue(
  metrics: EngineMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  let sum = 0;
  for (const v of (m?.values ?? []) as { value: number; labels: Record<string, unknown> }[]) {
    if (Object.entries(labels).every(([k, want]) => v.labels[k] === want)) sum += v.value;
  }
  return sum;
}
