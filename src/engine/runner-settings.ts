import type { Logger } from 'pino';
import type { Connector, SettleOutcome, SourceRecord } from '../connectors/types.ts';
import type { Invoker } from '../invoker/invoker.ts';
import type { MappingMetrics } from '../observability/mapping-metrics.ts';
import type { CollectSettings } from './batch-collector.ts';
import type { BatchVerdict } from './batch-result.ts';
import type { TunerSettings } from './concurrency-tuner.ts';
import type { MappingState } from './mapping-state.ts';
import { defaultScaling, type ScalingSettings } from './scaling-policy.ts';

/** The settings of one mapping the runner needs (a view of the compiled mapping config). */
export interface RunnerSettings {
  name: string;
  functionName: string;
  enabled: boolean;
  batchSize: number;
  maximumBatchingWindowMs: number;
  reportBatchItemFailures: boolean;
  /** Most batches in flight (scalingConfig.maximumConcurrency); undefined = engine/function ceilings. */
  maximumConcurrency: number | undefined;
  /**
   * Provisioned pollers (receive loops): start at `minimum`, never fewer, never more than `maximum`
   * (nor than maximumConcurrency). Undefined = Lambda's default shape (start 5, scale 2–1250).
   */
  pollers?: { minimum: number; maximum: number } | undefined;
  /** Ordered lanes (SQS FIFO, Kafka, RabbitMQ with concurrency 1): stop at the first failure. */
  ordered: boolean;
  windowMode: CollectSettings['windowMode'];
  /** How long a fetch may wait for a first record; default 20 000 ms (SQS long poll). */
  idleWaitMs?: number;
  /**
   * `scalingConfig.adaptiveConcurrency`: invokes in flight follow the throughput tuner, up to
   * maximumConcurrency (concurrency-tuner.ts). Default true; false = always the maximum.
   */
  adaptiveConcurrency?: boolean;
  /**
   * Where the tuner starts, clamped to the maximum: where Lambda runs the source — SQS 5,
   * RabbitMQ 1, Kafka every partition at once. Default 5.
   */
  initialInvokeConcurrency?: number;
  /**
   * `scalingConfig.pollerGrowthFactor`: while polls come back full, pollers are multiplied by this
   * each scaling step (at least +5). Default 2; 1 = Lambda's +5 a second.
   */
  pollerGrowthFactor?: number;
}

/** Settings `MappingRunner.update` may change at run time. */
export type RunnerSettingsChanges = Partial<
  Omit<RunnerSettings, 'name' | 'functionName' | 'ordered' | 'windowMode'>
>;

/** Decides whether a record passes the mapping's filters (compiled elsewhere). */
export type RecordFilter = (record: SourceRecord) => boolean;

/**
 * What to do with records whose batch failed, beyond returning them to the source: Kafka's
 * retry limits, record age and bisection, RabbitMQ's bounded redelivery. Default: retry forever.
 */
export type FailurePolicy = (
  failed: SourceRecord[],
  verdict: BatchVerdict,
) => Promise<Pick<SettleOutcome, 'failed' | 'dropped'>> | Pick<SettleOutcome, 'failed' | 'dropped'>;

export interface MappingRunnerOptions {
  settings: RunnerSettings;
  connector: Connector;
  invoker: Invoker;
  filter?: RecordFilter;
  failurePolicy?: FailurePolicy;
  /** Turns an itemIdentifier into a record id (Kafka's `{partition, offset}`); default: strings. */
  identify?: (itemIdentifier: unknown) => string | undefined;
  logger: Logger;
  metrics: MappingMetrics;
  /**
   * Scaling overrides. `maximum` caps the pollers (receive loops) below the mapping's maximum
   * concurrency, which always caps batches in flight.
   */
  scaling?: Partial<ScalingSettings>;
  /** Throughput tuner overrides (tests use short windows). */
  tuner?: Partial<TunerSettings>;
  /**
   * Batches one poller of an unordered mapping may have between hand-off and settle; 2 lets it
   * receive its next batch while the previous one is invoked. Ordered mappings always use 1.
   * Default 2.
   */
  pipelineDepth?: number;
  /** Retry of a failing source start / poll: first delay, growing to the max. */
  retryMinMs?: number;
  /** How often the source gauges are refreshed; default 1000 ms. */
  sourceHealthIntervalMs?: number;
  retryMaxMs?: number;
}

/** A status snapshot, in Lambda's terms, for the management API and `/readyz`. */
export interface MappingStatus {
  name: string;
  state: MappingState;
  stateTransitionReason: string;
  lastProcessingResult: string;
  pollers: number;
  inFlightBatches: number;
  /** Invokes allowed at once now (the throughput tuner's choice, up to maximumConcurrency). */
  invokeLimit: number;
  sourceHealthy: boolean;
}

/** Batches in flight at most (maximumConcurrency); unset = only the engine/function ceilings. */
export function concurrencyLimit(s: RunnerSettings): number {
  return s.maximumConcurrency ?? Number.POSITIVE_INFINITY;
}

/** The tuner's ceiling: maximumConcurrency, and no more lanes than the source has (Kafka). */
export function invokeMaximum(s: RunnerSettings, maxLanes: number | undefined): number {
  return Math.min(concurrencyLimit(s), maxLanes ?? Number.POSITIVE_INFINITY);
}

/**
 * The poller scaling shape of a mapping: Lambda's default (scaling-policy.ts), or its provisioned
 * pollers; never more pollers than maximumConcurrency, the overrides' maximum or the source's
 * lanes (pollers above the lanes would only ever poll empty).
 */
export function scalingFor(
  s: RunnerSettings,
  overrides: Partial<ScalingSettings> | undefined,
  maxLanes: number | undefined,
): ScalingSettings {
  const max = Math.max(
    1,
    Math.min(
      s.maximumConcurrency ?? 1250,
      s.pollers?.maximum ?? 1250,
      overrides?.maximum ?? 1250,
      maxLanes ?? 1250,
    ),
  );
  const provisioned = s.pollers
    ? { initial: Math.min(s.pollers.minimum, max), minimum: Math.min(s.pollers.minimum, max) }
    : {};
  const growth = s.pollerGrowthFactor === undefined ? {} : { growthFactor: s.pollerGrowthFactor };
  return { ...defaultScaling(max), ...growth, ...provisioned, ...overrides, maximum: max };
}

/** What the collector needs of the current settings for one batch. */
export function collectSettingsOf(s: RunnerSettings): CollectSettings {
  return {
    batchSize: s.batchSize,
    windowMs: s.maximumBatchingWindowMs,
    windowMode: s.windowMode,
    idleWaitMs: s.idleWaitMs ?? 20_000,
  };
}
