/**
 * A `MappingRunner` over the in-memory connector and a real `Invoker` whose environments are
 * `FakeEnvironment`s running a handler of the test: the whole poll → batch → filter → invoke →
 * settle path without a process or a broker.
 */
import { Registry } from 'prom-client';
import {
  MemoryConnector,
  MemorySource,
  type MemorySourceOptions,
} from '../../support/memory-connector/index.ts';
import {
  MappingRunner,
  type MappingRunnerOptions,
  type RunnerSettings,
} from '../../../src/engine/mapping-runner.ts';
import { ConcurrencyController } from '../../../src/invoker/concurrency.ts';
import { EnvironmentPool } from '../../../src/invoker/environment-pool.ts';
import { Invoker } from '../../../src/invoker/invoker.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { MappingMetrics } from '../../../src/observability/mapping-metrics.ts';
import { EngineMetrics } from '../../../src/observability/metrics.ts';
import { FakeEnvironment } from './fake-environment.ts';
import { fakeSpec } from './fake-spec.ts';
import { eventually } from '../../support/eventually.ts';

export interface SeenRecord {
  messageId: string;
  body: string;
  lane: string;
}

/** What the function receives: the records of one batch. Returns the function's response. */
export type BatchHandler = (records: SeenRecord[]) => Promise<unknown>;

export interface RunnerHarnessOptions {
  settings?: Partial<RunnerSettings>;
  source?: MemorySourceOptions;
  runner?: Partial<Omit<MappingRunnerOptions, 'settings' | 'connector' | 'invoker'>>;
  /** Function concurrency ceiling (reserved concurrency). Default 50. */
  reserved?: number;
  /** The engine's ceiling instead, with no reservation for the function (overrides `reserved`). */
  engineLimit?: number;
  /** The connector reports this lane limit once started (a partitioned source). */
  maxLanes?: number;
  /** The connector asks for one poller at a time to gather a batch (a shared push buffer). */
  collectsOneAtATime?: boolean;
}

export function createRunnerHarness(handler: BatchHandler, options: RunnerHarnessOptions = {}) {
  const source = new MemorySource(options.source);
  const connector = new MemoryConnector({
    source,
    ...(options.maxLanes === undefined ? {} : { maxLanes: options.maxLanes }),
    ...(options.collectsOneAtATime === undefined
      ? {}
      : { collectsOneAtATime: options.collectsOneAtATime }),
  });
  const metrics = new EngineMetrics();
  /** Every batch the function saw, in the order invokes started. */
  const batches: SeenRecord[][] = [];
  let running = 0;
  let peak = 0;
  const pool = new EnvironmentPool({
    createEnvironment: (o) =>
      new FakeEnvironment(o, async (req) => {
        const event = JSON.parse(req.payload.toString('utf8')) as { Records: SeenRecord[] };
        const records = event.Records.map((r) => ({
          messageId: r.messageId,
          body: r.body,
          lane: r.lane,
        }));
        batches.push(records);
        running += 1;
        peak = Math.max(peak, running);
        try {
          return await handler(records);
        } finally {
          running -= 1;
        }
      }),
    onLog: () => undefined,
    logger: silentLogger(),
    metrics,
    reclaimIntervalMs: 3_600_000,
  });
  const reserved = options.reserved ?? 50;
  const invoker = new Invoker({
    concurrency: new ConcurrencyController(
      options.engineLimit === undefined
        ? { engineLimit: reserved + 10, reserved: { f: reserved }, minimumUnreserved: 10 }
        : { engineLimit: options.engineLimit, reserved: {}, minimumUnreserved: 0 },
    ),
    pool,
    logger: silentLogger(),
    metrics,
  });
  invoker.register(spec('f'));
  const settings: RunnerSettings = {
    name: 'm',
    functionName: 'f',
    enabled: true,
    batchSize: 10,
    maximumBatchingWindowMs: 0,
    reportBatchItemFailures: false,
    maximumConcurrency: undefined,
    ordered: false,
    windowMode: 'caller',
    // Short idle polls so empty polls (and scaling / stop checks) happen quickly in tests.
    idleWaitMs: 50,
    ...options.settings,
  };
  const mappingMetrics = new MappingMetrics(new Registry());
  const runner = new MappingRunner({
    settings,
    connector,
    invoker,
    logger: silentLogger(),
    metrics: mappingMetrics,
    retryMinMs: 10,
    retryMaxMs: 20,
    ...options.runner,
  });
  return {
    source,
    connector,
    invoker,
    pool,
    runner,
    metrics: mappingMetrics,
    batches,
    /** Most invokes that ran at once, measured inside the function. */
    get peak() {
      return peak;
    },
    /** Message ids the function saw, with repeats. */
    seenIds: () => batches.flat().map((r) => r.messageId),
    async close() {
      await runner.stop(5000);
      await pool.stop();
    },
  };
}

export type RunnerHarness = ReturnType<typeof createRunnerHarness>;

const spec = (name: string) => fakeSpec(name);

/** A latch the handler can wait on, released by the test. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => undefined as void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** A function that holds every batch until the test lets it go. */
export function gatedHandler() {
  const waiting: (() => void)[] = [];
  return {
    handler: () =>
      new Promise<null>((resolve) => {
        waiting.push(() => resolve(null));
      }),
    get held() {
      return waiting.length;
    },
    releaseAll() {
      for (const go of waiting.splice(0)) go();
    },
  };
}

export type GatedHandler = ReturnType<typeof gatedHandler>;

/** Lets every held batch go until the harness's source is empty. */
export async function drain(h: RunnerHarness | undefined, gate: GatedHandler): Promise<void> {
  await eventually(() => {
    gate.releaseAll();
    return (h?.source.size ?? 0) === 0 && gate.held === 0;
  }, 'the source empty and no batch held');
}
