import { KAFKA_COMMIT_INTERVAL_MS } from './kafka-config.ts';

/** Client and buffer settings of the Kafka connector, with their defaults. */
export interface KafkaTuning {
  /**
   * Group session timeout, ms. Default 30 000 (kafkajs's): how long a crashed process keeps its
   * partitions before the group hands them to another. The consumer keeps heartbeating while
   * functions run, so this bounds crash take-over time, not batch duration.
   */
  sessionTimeoutMs: number;
  /** Heartbeat cadence, ms. Default 3000 (a tenth of the session timeout is the usual ratio). */
  heartbeatIntervalMs: number;
  /** Longest a broker fetch waits for data, ms. Default 250: a resumed partition flows soon. */
  maxWaitTimeMs: number;
  /** Bytes a fetch returns per partition at most. Default 1 MiB (kafkajs's). */
  maxBytesPerPartition: number;
  /**
   * Records buffered per partition before its fetching pauses (resumes below half). Default
   * 20 000; memory per partition stays within this plus one fetch (`maxBytesPerPartition`).
   */
  bufferRecords: number;
  /** Bytes buffered per partition before its fetching pauses. Default 8 MiB. */
  bufferBytes: number;
  /**
   * Longest a settled batch's offset waits to be committed together with later ones, ms. Default
   * 100: a busy mapping writes ~10 commits a second instead of one per batch (each is a write to
   * the broker's `__consumer_offsets`); a crash, or a rebalance whose flush loses the race with
   * kafkajs's re-join, redelivers up to ~100 ms of settled records beyond the batches in flight.
   * 0 commits after every settle. Stop flushes at once.
   */
  commitIntervalMs: number;
  /** First delay before a failed partition is retried, ms; doubles per attempt. Default 100. */
  retryBaseMs: number;
  /** Longest retry delay, ms. Default 5000. */
  retryMaxMs: number;
}

export const DEFAULT_KAFKA_TUNING: Readonly<KafkaTuning> = {
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3000,
  maxWaitTimeMs: 250,
  maxBytesPerPartition: 1024 * 1024,
  bufferRecords: 20_000,
  bufferBytes: 8 * 1024 * 1024,
  commitIntervalMs: KAFKA_COMMIT_INTERVAL_MS.default,
  retryBaseMs: 100,
  retryMaxMs: 5000,
};

export function resolveTuning(overrides: Partial<KafkaTuning> | undefined): KafkaTuning {
  const t = { ...DEFAULT_KAFKA_TUNING, ...overrides };
  // kafkajs requires heartbeats well inside the session.
  t.heartbeatIntervalMs = Math.min(t.heartbeatIntervalMs, Math.floor(t.sessionTimeoutMs / 3));
  return t;
}

/**
 * Operator defaults from the environment for every Kafka mapping that does not set its own
 * `source.sessionTimeoutMs` / `source.heartbeatIntervalMs` / `source.commitIntervalMs`:
 * `SLUICE_KAFKA_SESSION_TIMEOUT_MS`, `SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS`,
 * `SLUICE_KAFKA_COMMIT_INTERVAL_MS` (0–60000, as the YAML key; 0 = commit on every settle). A
 * value out of range or not a number is ignored.
 */
export function tuningFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<KafkaTuning> {
  const out: Partial<KafkaTuning> = {};
  const read = (name: string, min = 1, max = Number.MAX_SAFE_INTEGER): number | undefined => {
    const n = Number(env[name]);
    return env[name] !== undefined && env[name] !== '' && Number.isFinite(n) && n >= min && n <= max
      ? n
      : undefined;
  };
  const session = read('SLUICE_KAFKA_SESSION_TIMEOUT_MS');
  const heartbeat = read('SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS');
  if (session !== undefined) out.sessionTimeoutMs = session;
  if (heartbeat !== undefined) out.heartbeatIntervalMs = heartbeat;
  const commitInterval = read(
    'SLUICE_KAFKA_COMMIT_INTERVAL_MS',
    KAFKA_COMMIT_INTERVAL_MS.min,
    KAFKA_COMMIT_INTERVAL_MS.max,
  );
  if (commitInterval !== undefined) out.commitIntervalMs = commitInterval;
  return out;
}
