/**
 * Cross-field checks of `mappings`: references, which source keys fit the connection's type, and
 * Lambda's per-source ranges (lambda-esm.md §1). The source type is the referenced connection's.
 */
import { showValue, type PathSegment } from './config-error.ts';
import * as d from './defaults.ts';
import { checkDestination, parseDestination } from './destinations.ts';
import { parsePattern } from './filter-patterns.ts';
import { didYouMean } from './suggest.ts';
import type { CheckInputs, Obj, Problems, Refs } from './check-context.ts';
import { isObj, num, objAt, str } from './check-context.ts';

const SOURCE_KEYS: Record<d.SourceType, { required: string; keys: string[] }> = {
  sqs: { required: 'queueUrl', keys: ['connection', 'queueUrl', 'retryBackoff'] },
  kafka: {
    required: 'topic',
    keys: [
      'connection',
      'topic',
      'consumerGroupId',
      'startingPosition',
      'startingPositionTimestamp',
      'sessionTimeoutMs',
      'heartbeatIntervalMs',
      'commitIntervalMs',
    ],
  },
  rabbitmq: { required: 'queue', keys: ['connection', 'queue', 'virtualHost'] },
};

const article = (type: d.SourceType): string => (type === 'sqs' ? `an ${type}` : `a ${type}`);

/** A `.fifo` queue URL is a FIFO queue. */
export function isFifoQueueUrl(queueUrl: string): boolean {
  return queueUrl.replace(/\/+$/, '').endsWith('.fifo');
}

/** Epoch ms of `startingPositionTimestamp` (ISO 8601 text or epoch seconds), or NaN. */
export function timestampMs(value: string | number): number {
  if (typeof value === 'number') return value * 1000;
  return /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
}

function checkSource(
  base: PathSegment[],
  source: Obj,
  type: d.SourceType,
  inputs: CheckInputs,
  problems: Problems,
): void {
  const { required, keys } = SOURCE_KEYS[type];
  const connection = String(source.connection);
  for (const key of Object.keys(source)) {
    if (keys.includes(key)) continue;
    const owner = (Object.keys(SOURCE_KEYS) as d.SourceType[]).find((t) =>
      SOURCE_KEYS[t].keys.includes(key),
    );
    if (owner === undefined) continue; // unknown keys are the schema's to report
    problems.add(
      [...base, 'source', key],
      `is ${article(owner)} source key, but connection ${connection} is ${type}; ${type} sources take ${keys.join(', ')}`,
      { target: 'key' },
    );
  }
  if (source[required] === undefined) {
    problems.add(
      [...base, 'source', required],
      `is required for ${article(type)} source (connection ${connection})`,
      {
        target: 'key',
      },
    );
  }
  if (type === 'sqs') {
    const backoff = objAt(source, 'retryBackoff');
    const first = num(backoff?.baseSeconds);
    const longest = num(backoff?.maximumSeconds);
    if (first !== undefined && longest !== undefined && longest < first) {
      problems.add(
        [...base, 'source', 'retryBackoff', 'maximumSeconds'],
        `must be at least baseSeconds (${first}), got ${longest}`,
      );
    }
  }
  if (type !== 'kafka') return;
  const session = num(source.sessionTimeoutMs);
  const heartbeat = num(source.heartbeatIntervalMs);
  if (heartbeat !== undefined && heartbeat >= (session ?? d.KAFKA_SESSION_TIMEOUT_MS.default)) {
    problems.add(
      [...base, 'source', 'heartbeatIntervalMs'],
      `must be below the session timeout (${session ?? d.KAFKA_SESSION_TIMEOUT_MS.default} ms${session === undefined ? ', the default' : ''}), got ${heartbeat}`,
    );
  }
  const position = source.startingPosition;
  const stamp = source.startingPositionTimestamp;
  if (position === 'AT_TIMESTAMP' && stamp === undefined) {
    problems.add(
      [...base, 'source', 'startingPositionTimestamp'],
      'is required with startingPosition AT_TIMESTAMP',
      {
        target: 'key',
      },
    );
  }
  if (stamp !== undefined && position !== 'AT_TIMESTAMP') {
    problems.add(
      [...base, 'source', 'startingPositionTimestamp'],
      'applies only with startingPosition: AT_TIMESTAMP',
      { target: 'key' },
    );
  }
  if (typeof stamp === 'string' || typeof stamp === 'number') {
    const ms = timestampMs(stamp);
    const path = [...base, 'source', 'startingPositionTimestamp'];
    if (Number.isNaN(ms)) {
      problems.add(
        path,
        `must be an ISO 8601 time (2024-05-01T00:00:00Z) or epoch seconds, got ${showValue(stamp, path)}`,
      );
    } else if (ms > inputs.now) {
      problems.add(
        path,
        `must not be in the future, got ${showValue(stamp, path)} (${new Date(ms).toISOString()})`,
      );
    }
  }
}

function checkBatching(
  base: PathSegment[],
  m: Obj,
  type: d.SourceType,
  fifo: boolean,
  problems: Problems,
): void {
  const batch = num(m.batchSize);
  const window = num(m.maximumBatchingWindowInSeconds);
  if (type !== 'sqs') return;
  if (fifo) {
    if (batch !== undefined && batch > d.SQS_FIFO_MAX_BATCH) {
      problems.add(
        [...base, 'batchSize'],
        `must be an integer from 1 to ${d.SQS_FIFO_MAX_BATCH} for an SQS FIFO queue (as Lambda), got ${batch}`,
      );
    }
    if (window !== undefined && window > 0) {
      problems.add(
        [...base, 'maximumBatchingWindowInSeconds'],
        `is not supported for an SQS FIFO queue (as Lambda): remove it, got ${window}`,
      );
    }
    return;
  }
  if (batch !== undefined && batch > d.SQS_BATCH_WITHOUT_WINDOW_MAX && (window ?? 0) < 1) {
    problems.add(
      [...base, window === undefined ? 'batchSize' : 'maximumBatchingWindowInSeconds'],
      `must be at least 1 second when batchSize is above ${d.SQS_BATCH_WITHOUT_WINDOW_MAX} for an SQS queue (as Lambda); got batchSize ${batch} and ${window === undefined ? 'no maximumBatchingWindowInSeconds' : `maximumBatchingWindowInSeconds ${window}`}`,
    );
  }
}

function checkFilters(
  base: PathSegment[],
  m: Obj,
  type: d.SourceType,
  inputs: CheckInputs,
  problems: Problems,
): void {
  const filters = objAt(m, 'filterCriteria')?.filters;
  if (!Array.isArray(filters)) return;
  filters.forEach((filter: unknown, index) => {
    const text = isObj(filter) ? str(filter.pattern) : undefined;
    if (text === undefined || text === '') return;
    const path = [...base, 'filterCriteria', 'filters', index, 'pattern'];
    const parsed = parsePattern(text);
    if (!parsed.ok) {
      const extra = parsed.offset === undefined ? {} : { offsetInValue: parsed.offset };
      problems.add(path, `is not a valid filter pattern: ${parsed.message}`, extra);
      return;
    }
    for (const message of inputs.validateFilterPattern?.(parsed.value, type) ?? []) {
      problems.add(path, `is not a valid filter pattern: ${message}`);
    }
  });
}

function checkSourceOnly(
  base: PathSegment[],
  m: Obj,
  type: d.SourceType,
  problems: Problems,
): void {
  const rules = d.SOURCE_RULES[type];
  const concurrency = num(objAt(m, 'scalingConfig')?.maximumConcurrency);
  if (concurrency !== undefined && concurrency < rules.minMaximumConcurrency) {
    problems.add(
      [...base, 'scalingConfig', 'maximumConcurrency'],
      `must be an integer from ${rules.minMaximumConcurrency} to ${d.MAX_CONCURRENCY.max} for ${article(type)} source, got ${concurrency}`,
    );
  }
  checkPollers(base, m, type, problems);
  const kafkaOnly = ['maximumRecordAgeInSeconds', 'bisectBatchOnFunctionError'];
  const retryKeys = ['maximumRetryAttempts', 'destinationConfig'];
  for (const key of [...retryKeys, ...kafkaOnly]) {
    if (m[key] === undefined) continue;
    const allowed = kafkaOnly.includes(key) ? rules.recordAgeAndBisect : rules.retryControls;
    if (allowed) continue;
    const why =
      type === 'sqs'
        ? 'SQS retries come from the queue: use its redrive policy (maxReceiveCount) and dead-letter queue'
        : 'it applies to Kafka sources only';
    problems.add([...base, key], `is not supported for ${article(type)} source: ${why}`, {
      target: 'key',
    });
  }
}

/** `provisionedPollerConfig`: SQS and Kafka only, source minimum, minimum ≤ maximum. */
function checkPollers(base: PathSegment[], m: Obj, type: d.SourceType, problems: Problems): void {
  const config = objAt(m, 'provisionedPollerConfig');
  if (config === undefined) return;
  const path = [...base, 'provisionedPollerConfig'];
  const lowest = d.SOURCE_RULES[type].minMinimumPollers;
  if (lowest === undefined) {
    problems.add(
      path,
      `is not supported for ${article(type)} source: it has one consumer per mapping; use scalingConfig.maximumConcurrency for parallel batches`,
      { target: 'key' },
    );
    return;
  }
  const minimum = num(config.minimumPollers);
  const maximum = num(config.maximumPollers);
  if (minimum !== undefined && minimum < lowest) {
    problems.add(
      [...path, 'minimumPollers'],
      `must be an integer from ${lowest} to ${d.MINIMUM_POLLERS.max} for ${article(type)} source, got ${minimum}`,
    );
  }
  const effectiveMinimum = minimum ?? lowest;
  if (maximum !== undefined && maximum < effectiveMinimum) {
    problems.add(
      [...path, 'maximumPollers'],
      `must be at least minimumPollers (${effectiveMinimum}${minimum === undefined ? ', the default' : ''}), got ${maximum}`,
    );
  }
}

function checkOnFailure(
  base: PathSegment[],
  m: Obj,
  source: Obj,
  type: d.SourceType,
  refs: Refs,
  problems: Problems,
): void {
  if (!d.SOURCE_RULES[type].retryControls) return;
  const onFailure = objAt(m, 'destinationConfig')?.onFailure;
  const path = [...base, 'destinationConfig', 'onFailure'];
  const connection = String(source.connection);
  const scope = { sourceConnection: { name: connection, type } };
  const before = problems.list.length;
  checkDestination(onFailure, path, refs, scope, problems);
  if (problems.list.length > before || !isObj(onFailure)) return;
  const parsed = parseDestination(String(onFailure.destination));
  const target = str(onFailure.connection) ?? connection;
  if (
    type === 'kafka' &&
    parsed?.type === 'kafka' &&
    parsed.topic === source.topic &&
    target === connection
  ) {
    problems.add(
      [...path, 'destination'],
      `must not be the source topic ${JSON.stringify(parsed.topic)}: failed records would be consumed again in a loop`,
    );
  }
}

export function checkMappings(
  doc: unknown,
  refs: Refs,
  inputs: CheckInputs,
  problems: Problems,
): void {
  const mappings = isObj(doc) && Array.isArray(doc.mappings) ? (doc.mappings as unknown[]) : [];
  const names = new Map<string, number>();
  mappings.forEach((m, index) => {
    if (!isObj(m)) return;
    const base: PathSegment[] = ['mappings', index];
    const name = str(m.name);
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) {
        problems.add(
          [...base, 'name'],
          `must be unique, got ${JSON.stringify(name)} (also mappings[${first}].name)`,
        );
      } else names.set(name, index);
    }
    const fn = str(m.function);
    if (fn !== undefined && !refs.functions.has(fn)) {
      problems.add(
        [...base, 'function'],
        `names function ${JSON.stringify(fn)}, which is not declared under functions${didYouMean(fn, refs.functions)}`,
      );
    }
    const source = objAt(m, 'source');
    const connection = str(source?.connection);
    if (source === undefined || connection === undefined) return;
    const type = refs.connections.get(connection);
    if (type === undefined) {
      const declared = isObj(objAt(doc, 'connections')?.[connection]);
      if (!declared) {
        problems.add(
          [...base, 'source', 'connection'],
          `names connection ${JSON.stringify(connection)}, which is not declared under connections${didYouMean(connection, refs.connections.keys())}`,
        );
      }
      return;
    }
    checkSource(base, source, type, inputs, problems);
    const queueUrl = str(source.queueUrl);
    checkBatching(
      base,
      m,
      type,
      type === 'sqs' && queueUrl !== undefined && isFifoQueueUrl(queueUrl),
      problems,
    );
    checkFilters(base, m, type, inputs, problems);
    checkSourceOnly(base, m, type, problems);
    checkOnFailure(base, m, source, type, refs, problems);
  });
}
