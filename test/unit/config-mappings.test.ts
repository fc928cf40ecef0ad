import { describe, expect, it } from 'vitest';
import type { MappingConfig } from '../../src/config/types.ts';
import { runnerSettings } from '../../src/engine/mapping-manager.ts';
import {
  CONNECTIONS,
  load,
  problemAt,
  problemsOf,
  RESIZE,
  yaml,
} from '../fixtures/config/problems.ts';
import { SOURCE_PLUGINS } from '../support/plugins.ts';

// Lines 1–10: a function, three connections and `mappings:`; `mapping()` puts its `name` on
// line 11, `function` on 12 and its own lines from 13.
const HEAD = [...RESIZE, ...CONNECTIONS, 'mappings:'];
const QUEUE = 'http://127.0.0.1:9324/000000000000/orders';

function mapping(...lines: string[]): string {
  return yaml(...HEAD, '  - name: m', '    function: resize', ...lines);
}

describe('config: mappings', () => {
  it('two mappings of the same function and source are a config error naming both', () => {
    const text = yaml(
      ...HEAD,
      '  - name: first',
      '    function: resize',
      `    source: { connection: sqs, queueUrl: ${QUEUE} }`,
      '  - name: second',
      '    function: resize',
      `    source: { connection: sqs, queueUrl: ${QUEUE} }`,
      '  - name: topic-a',
      '    function: resize',
      '    source: { connection: kafka, topic: a, consumerGroupId: g }',
      '  - name: topic-a-again',
      '    function: resize',
      '    source: { connection: kafka, topic: a, consumerGroupId: g }',
    );
    const problems = problemsOf(text);
    expect(problems).toHaveLength(2);
    expect(problemAt(problems, 'mappings[1]')).toMatchObject({
      line: 14,
      message:
        'mapping "second" reads the same source with the same function as mapping "first" (line 11): Lambda allows one event source mapping per function and source; remove one or merge them',
    });
    expect(problemAt(problems, 'mappings[3]').message).toContain(
      'mapping "topic-a-again" reads the same source with the same function as mapping "topic-a" (line 17)',
    );
  });

  it('unknown function and connection references name the line of the reference', () => {
    const text = yaml(
      ...HEAD,
      '  - name: m',
      '    function: resise',
      '    source: { connection: sqs2, queueUrl: x }',
    );
    const problems = problemsOf(text);
    expect(problemAt(problems, 'mappings[0].function')).toMatchObject({
      line: 12,
      column: 15,
      message:
        'names function "resise", which is not declared under functions (did you mean resize?)',
    });
    expect(problemAt(problems, 'mappings[0].source.connection')).toMatchObject({
      line: 13,
      message:
        'names connection "sqs2", which is not declared under connections (did you mean sqs?)',
    });
  });

  it('batch sizes out of range', () => {
    const p = problemAt(
      problemsOf(mapping(`    source: { connection: kafka, topic: t }`, '    batchSize: 20000')),
      'mappings[0].batchSize',
    );
    expect(p).toMatchObject({ line: 14, column: 16 });
    expect(p.message).toBe('must be an integer from 1 to 10000 (records), got 20000');
  });

  it('SQS standard: a batch above 10 needs a window of at least 1 s', () => {
    const p = problemAt(
      problemsOf(
        mapping(`    source: { connection: sqs, queueUrl: ${QUEUE} }`, '    batchSize: 100'),
      ),
      'mappings[0].batchSize',
    );
    expect(p.line).toBe(14);
    expect(p.message).toContain('must be at least 1 second when batchSize is above 10');
    const ok = load(
      mapping(
        `    source: { connection: sqs, queueUrl: ${QUEUE} }`,
        '    batchSize: 100',
        '    maximumBatchingWindowInSeconds: 1',
      ),
    );
    expect(ok.mappings[0]).toMatchObject({ batchSize: 100, maximumBatchingWindowMs: 1000 });
  });

  it('SQS FIFO: no window and at most 10 per batch', () => {
    const problems = problemsOf(
      mapping(
        `    source: { connection: sqs, queueUrl: ${QUEUE}.fifo }`,
        '    batchSize: 11',
        '    maximumBatchingWindowInSeconds: 2',
      ),
    );
    expect(problemAt(problems, 'mappings[0].batchSize')).toMatchObject({
      line: 14,
      message: 'must be an integer from 1 to 10 for an SQS FIFO queue (as Lambda), got 11',
    });
    expect(problemAt(problems, 'mappings[0].maximumBatchingWindowInSeconds')).toMatchObject({
      line: 15,
      message: 'is not supported for an SQS FIFO queue (as Lambda): remove it, got 2',
    });
  });

  it('a filter pattern that does not parse points into the pattern', () => {
    const text = mapping(
      `    source: { connection: sqs, queueUrl: ${QUEUE} }`,
      `    filterCriteria: { filters: [{ pattern: '{"body": {"type" ["order"]}}' }] }`,
    );
    const p = problemAt(problemsOf(text), 'mappings[0].filterCriteria.filters[0].pattern');
    expect(p.line).toBe(14);
    // The pattern text starts at column 45; the error is at its character 17 (0-based).
    expect(p.column).toBe(45 + 17);
    expect(p.message).toMatch(
      /^is not a valid filter pattern: Expected ':' .*\(pattern line 1 column 18\)$/,
    );
  });

  it('a filter pattern must be a JSON object, and the deep-check hook is called', () => {
    const text = mapping(
      `    source: { connection: kafka, topic: t }`,
      `    filterCriteria: { filters: [{ pattern: '["x"]' }, { pattern: '{"value": {"n": [{"numeric": [1]}]}}' }] }`,
    );
    const seen: unknown[] = [];
    const problems = problemsOf(text, {
      validateFilterPattern: (pattern, source) => {
        seen.push([pattern, source]);
        return ['numeric needs an operator'];
      },
    });
    expect(problemAt(problems, 'mappings[0].filterCriteria.filters[0].pattern').message).toContain(
      'must be a JSON object',
    );
    expect(problemAt(problems, 'mappings[0].filterCriteria.filters[1].pattern').message).toBe(
      'is not a valid filter pattern: numeric needs an operator',
    );
    expect(seen).toEqual([[{ value: { n: [{ numeric: [1] }] } }, 'kafka']]);
  });

  it('a Kafka onFailure destination equal to the source topic is refused', () => {
    const text = mapping(
      '    source: { connection: kafka, topic: clicks }',
      '    destinationConfig: { onFailure: { destination: kafka://clicks } }',
    );
    const p = problemAt(problemsOf(text), 'mappings[0].destinationConfig.onFailure.destination');
    expect(p.line).toBe(14);
    expect(p.message).toContain('must not be the source topic "clicks"');
  });

  it('source keys must fit the connection type', () => {
    const problems = problemsOf(
      mapping('    source: { connection: kafka, queueUrl: http://x/1/q }'),
    );
    expect(problemAt(problems, 'mappings[0].source.queueUrl').message).toContain(
      'is an sqs source key, but connection kafka is kafka',
    );
    expect(problemAt(problems, 'mappings[0].source.topic')).toMatchObject({
      line: 13,
      message: 'is required for a kafka source (connection kafka)',
    });
  });

  it('per-source controls: SQS takes no retry settings, RabbitMQ no record age', () => {
    const sqs = problemsOf(
      mapping(
        `    source: { connection: sqs, queueUrl: ${QUEUE} }`,
        '    maximumRetryAttempts: 3',
        '    scalingConfig: { maximumConcurrency: 1 }',
      ),
    );
    expect(problemAt(sqs, 'mappings[0].maximumRetryAttempts').message).toContain('redrive policy');
    expect(problemAt(sqs, 'mappings[0].scalingConfig.maximumConcurrency').message).toBe(
      'must be an integer from 2 to 1000 for an sqs source, got 1',
    );
    const rabbit = problemsOf(
      mapping('    source: { connection: rabbit, queue: q }', '    maximumRecordAgeInSeconds: 60'),
    );
    expect(problemAt(rabbit, 'mappings[0].maximumRecordAgeInSeconds').message).toContain(
      'Kafka sources only',
    );
  });

  it('Kafka: record age range, AT_TIMESTAMP needs a past timestamp', () => {
    const problems = problemsOf(
      mapping(
        '    source: { connection: kafka, topic: t, startingPosition: AT_TIMESTAMP, startingPositionTimestamp: 2030-01-01T00:00:00Z }',
        '    maximumRecordAgeInSeconds: 30',
      ),
    );
    expect(problemAt(problems, 'mappings[0].source.startingPositionTimestamp').message).toContain(
      'must not be in the future',
    );
    expect(problemAt(problems, 'mappings[0].maximumRecordAgeInSeconds').message).toBe(
      'must be -1 (never) or an integer from 60 to 604800 (seconds), got 30',
    );
  });

  it('Kafka: session timeout and heartbeat — ranges, heartbeat below the session, Kafka only', () => {
    const problems = problemsOf(
      mapping(
        '    source: { connection: kafka, topic: t, sessionTimeoutMs: 5000, heartbeatIntervalMs: 9000 }',
      ),
    );
    expect(problemAt(problems, 'mappings[0].source.sessionTimeoutMs').message).toBe(
      'must be an integer from 6000 to 1800000 (ms), got 5000',
    );
    const slow = problemsOf(
      mapping('    source: { connection: kafka, topic: t, heartbeatIntervalMs: 30000 }'),
    );
    expect(problemAt(slow, 'mappings[0].source.heartbeatIntervalMs').message).toBe(
      'must be below the session timeout (30000 ms, the default), got 30000',
    );
    const sqs = problemsOf(
      mapping(`    source: { connection: sqs, queueUrl: '${QUEUE}', sessionTimeoutMs: 10000 }`),
    );
    expect(problemAt(sqs, 'mappings[0].source.sessionTimeoutMs').message).toContain(
      'is a kafka source key, but connection sqs is sqs',
    );
    const ok = load(
      mapping(
        '    source: { connection: kafka, topic: t, sessionTimeoutMs: 10000, heartbeatIntervalMs: 1000 }',
      ),
    );
    expect(ok.mappings[0]?.source).toMatchObject({
      sessionTimeoutMs: 10000,
      heartbeatIntervalMs: 1000,
    });
  });

  it('SQS: source.retryBackoff — seconds to ms, maximum defaults to 900 and is at least the base', () => {
    const sqs = (backoff: string) =>
      mapping(`    source: { connection: sqs, queueUrl: '${QUEUE}', retryBackoff: ${backoff} }`);
    expect(load(sqs('{ baseSeconds: 5 }')).mappings[0]?.source).toMatchObject({
      retryBackoff: { baseMs: 5000, maximumMs: 900_000 },
    });
    expect(load(sqs('{ baseSeconds: 5, maximumSeconds: 60 }')).mappings[0]?.source).toMatchObject({
      retryBackoff: { baseMs: 5000, maximumMs: 60_000 },
    });
    const none = load(mapping(`    source: { connection: sqs, queueUrl: '${QUEUE}' }`));
    expect(none.mappings[0]?.source).toMatchObject({ retryBackoff: undefined });
    expect(
      problemAt(
        problemsOf(sqs('{ baseSeconds: 60, maximumSeconds: 5 }')),
        'mappings[0].source.retryBackoff.maximumSeconds',
      ),
    ).toMatchObject({ line: 13, message: 'must be at least baseSeconds (60), got 5' });
    expect(
      problemAt(
        problemsOf(sqs('{ maximumSeconds: 5 }')),
        'mappings[0].source.retryBackoff.baseSeconds',
      ).message,
    ).toBe('is required');
    const kafka = problemsOf(
      mapping('    source: { connection: kafka, topic: t, retryBackoff: { baseSeconds: 5 } }'),
    );
    expect(problemAt(kafka, 'mappings[0].source.retryBackoff').message).toContain(
      'is an sqs source key, but connection kafka is kafka',
    );
  });

  it('Kafka: commitIntervalMs — 0 to 60000, Kafka only, passed through', () => {
    const late = problemsOf(
      mapping('    source: { connection: kafka, topic: t, commitIntervalMs: 60001 }'),
    );
    expect(problemAt(late, 'mappings[0].source.commitIntervalMs')).toMatchObject({
      line: 13,
      message: 'must be an integer from 0 to 60000 (ms), got 60001',
    });
    const sqs = problemsOf(
      mapping(`    source: { connection: sqs, queueUrl: '${QUEUE}', commitIntervalMs: 10 }`),
    );
    expect(problemAt(sqs, 'mappings[0].source.commitIntervalMs').message).toContain(
      'is a kafka source key, but connection sqs is sqs',
    );
    for (const value of [0, 250]) {
      const ok = load(
        mapping(`    source: { connection: kafka, topic: t, commitIntervalMs: ${value} }`),
      );
      expect(ok.mappings[0]?.source).toMatchObject({ commitIntervalMs: value });
    }
  });

  it('provisionedPollerConfig: SQS and Kafka only, source minimums, minimum ≤ maximum, defaults', () => {
    const sqs = problemsOf(
      mapping(
        `    source: { connection: sqs, queueUrl: '${QUEUE}' }`,
        '    provisionedPollerConfig: { minimumPollers: 1, maximumPollers: 2500 }',
      ),
    );
    expect(problemAt(sqs, 'mappings[0].provisionedPollerConfig.minimumPollers').message).toBe(
      'must be an integer from 2 to 200 for an sqs source, got 1',
    );
    expect(problemAt(sqs, 'mappings[0].provisionedPollerConfig.maximumPollers').message).toBe(
      'must be an integer from 1 to 2000, got 2500',
    );
    const inverted = problemsOf(
      mapping(
        '    source: { connection: kafka, topic: t }',
        '    provisionedPollerConfig: { minimumPollers: 8, maximumPollers: 4 }',
      ),
    );
    expect(problemAt(inverted, 'mappings[0].provisionedPollerConfig.maximumPollers').message).toBe(
      'must be at least minimumPollers (8), got 4',
    );
    const rabbit = problemsOf(
      mapping(
        '    source: { connection: rabbit, queue: q }',
        '    provisionedPollerConfig: { minimumPollers: 2 }',
      ),
    );
    expect(problemAt(rabbit, 'mappings[0].provisionedPollerConfig').message).toContain(
      'use scalingConfig.maximumConcurrency',
    );
    const kafka = load(
      mapping(
        '    source: { connection: kafka, topic: t }',
        '    provisionedPollerConfig: { minimumPollers: 1 }',
      ),
    );
    expect(kafka.mappings[0]?.pollers).toEqual({ minimum: 1, maximum: 200 });
    const unset = load(mapping('    source: { connection: kafka, topic: t }'));
    expect(unset.mappings[0]?.pollers).toBeUndefined();
  });

  it('mapping names are unique', () => {
    const text = yaml(
      ...HEAD,
      '  - { name: m, function: resize, source: { connection: rabbit, queue: a } }',
      '  - { name: m, function: resize, source: { connection: rabbit, queue: b } }',
    );
    expect(problemAt(problemsOf(text), 'mappings[1].name')).toMatchObject({ line: 12 });
  });
});

describe('config: triggers', () => {
  it('checks function references, paths and event patterns', () => {
    const text = yaml(
      ...RESIZE,
      'triggers:',
      '  - { name: a, type: s3, function: resise }',
      '  - { name: b, type: s3, function: resize, path: /healthz, events: [s3:Object Created] }',
    );
    const problems = problemsOf(text);
    expect(problemAt(problems, 'triggers[0].function').message).toContain('did you mean resize?');
    expect(problemAt(problems, 'triggers[1].path').message).toContain(
      'must not shadow an API route',
    );
    expect(problemAt(problems, 'triggers[1].events[0]').line).toBe(8);
  });
});

describe('config: throughput-tuned invoke concurrency', () => {
  const first = (...lines: string[]) => load(mapping(...lines)).mappings[0] as MappingConfig;

  it('scalingConfig.pollerGrowthFactor: default 2, 1 (Lambda) to 10, passed to the runner', () => {
    const sqs = `    source: { connection: sqs, queueUrl: ${QUEUE} }`;
    expect(first(sqs).pollerGrowthFactor).toBe(2);
    const lambda = first(sqs, '    scalingConfig: { pollerGrowthFactor: 1 }');
    expect(runnerSettings(lambda, SOURCE_PLUGINS).pollerGrowthFactor).toBe(1);
    expect(
      runnerSettings(first(sqs, '    scalingConfig: { pollerGrowthFactor: 1.5 }'), SOURCE_PLUGINS),
    ).toMatchObject({ pollerGrowthFactor: 1.5 });
    const p = problemAt(
      problemsOf(mapping(sqs, '    scalingConfig: { pollerGrowthFactor: 0.5 }')),
      'mappings[0].scalingConfig.pollerGrowthFactor',
    );
    expect(p).toMatchObject({ line: 14, message: 'must be a number from 1 to 10, got 0.5' });
  });

  it('is on by default, off with scalingConfig.adaptiveConcurrency: false', () => {
    const sqs = `    source: { connection: sqs, queueUrl: ${QUEUE} }`;
    expect(first(sqs).adaptiveConcurrency).toBe(true);
    const off = first(
      sqs,
      '    scalingConfig: { maximumConcurrency: 20, adaptiveConcurrency: false }',
    );
    expect(off).toMatchObject({ adaptiveConcurrency: false, maximumConcurrency: 20 });
    expect(runnerSettings(off, SOURCE_PLUGINS).adaptiveConcurrency).toBe(false);
  });

  it('a value that is not a boolean is refused where it is written', () => {
    const p = problemAt(
      problemsOf(
        mapping(
          `    source: { connection: sqs, queueUrl: ${QUEUE} }`,
          '    scalingConfig: { adaptiveConcurrency: sometimes }',
        ),
      ),
      'mappings[0].scalingConfig.adaptiveConcurrency',
    );
    expect(p.line).toBe(14);
  });

  it('starts where Lambda runs each source: SQS 5, RabbitMQ 1, Kafka every partition', () => {
    const start = (source: string) =>
      runnerSettings(first(source), SOURCE_PLUGINS).initialInvokeConcurrency;
    expect(start(`    source: { connection: sqs, queueUrl: ${QUEUE} }`)).toBe(5);
    expect(start('    source: { connection: rabbit, queue: q }')).toBe(1);
    expect(start('    source: { connection: kafka, topic: t }')).toBe(Number.POSITIVE_INFINITY);
  });
});
