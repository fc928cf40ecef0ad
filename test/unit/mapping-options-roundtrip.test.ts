/**
 * A YAML mapping that takes an API update is turned back into options, patched and compiled
 * again (mapping-manager.ts): every key must survive, or the first UpdateEventSourceMapping would
 * silently reset it to its default.
 */
import { describe, expect, it } from 'vitest';
import { apiFieldOf, compileMappingOptions } from '../../src/api/esm-request.ts';
import {
  mappingToOptions,
  needsNewConnector,
  needsNewRunner,
} from '../../src/engine/mapping-manager.ts';
import { CONNECTIONS, load, RESIZE, yaml } from '../fixtures/config/problems.ts';
import { SOURCE_PLUGINS } from '../support/plugins.ts';

const QUEUE = 'http://127.0.0.1:9324/000000000000/orders';

describe('mapping options round trip (YAML mapping → API update)', () => {
  it('keeps every key of every source type, destinations with their connections', () => {
    const config = load(
      yaml(
        ...RESIZE,
        ...CONNECTIONS,
        'mappings:',
        '  - name: orders',
        '    function: resize',
        '    enabled: false',
        `    source: { connection: sqs, queueUrl: ${QUEUE}, retryBackoff: { baseSeconds: 5, maximumSeconds: 60 } }`,
        '    batchSize: 100',
        '    maximumBatchingWindowInSeconds: 1',
        `    filterCriteria: { filters: [{ pattern: '{"body": {"type": ["order"]}}' }] }`,
        '    functionResponseTypes: [ReportBatchItemFailures]',
        '    scalingConfig: { maximumConcurrency: 20, adaptiveConcurrency: false, pollerGrowthFactor: 1.5 }',
        '    provisionedPollerConfig: { minimumPollers: 3, maximumPollers: 30 }',
        '  - name: clicks',
        '    function: resize',
        '    source: { connection: kafka, topic: clicks, consumerGroupId: g, startingPosition: LATEST,',
        '              sessionTimeoutMs: 10000, heartbeatIntervalMs: 1000, commitIntervalMs: 0 }',
        '    maximumRetryAttempts: 3',
        '    maximumRecordAgeInSeconds: 3600',
        '    bisectBatchOnFunctionError: true',
        `    destinationConfig: { onFailure: { destination: '${QUEUE}-failed', connection: sqs } }`,
        '  - name: jobs',
        '    function: resize',
        '    source: { connection: rabbit, queue: jobs, virtualHost: /v }',
        '    maximumRetryAttempts: 2',
        '    destinationConfig: { onFailure: { destination: function:resize } }',
      ),
    );
    expect(config.mappings).toHaveLength(3);
    for (const mapping of config.mappings) {
      const again = compileMappingOptions(
        config,
        mappingToOptions(mapping, SOURCE_PLUGINS),
        'round trip',
        SOURCE_PLUGINS,
      );
      expect(again).toEqual(mapping);
      // …so an update that changes nothing else keeps the running runner.
      expect(needsNewRunner(mapping, again)).toBe(false);
      expect(needsNewRunner(mapping, { ...again, enabled: !again.enabled, batchSize: 7 })).toBe(
        false,
      );
      expect(needsNewRunner(mapping, { ...again, functionName: 'other' })).toBe(true);
      // A new runner keeps the connector unless the source or the failure handling changed.
      const filtered = { ...again, filters: [{ pattern: '{"a":[1]}', parsed: { a: [1] } }] };
      expect(needsNewConnector(mapping, filtered, SOURCE_PLUGINS)).toBe(false);
      expect(
        needsNewConnector(
          mapping,
          { ...again, source: { ...again.source, connection: 'elsewhere' } } as typeof again,
          SOURCE_PLUGINS,
        ),
      ).toBe(true);
      expect(
        needsNewRunner(mapping, {
          ...again,
          filters: [{ pattern: '{"a":[1]}', parsed: { a: [1] } }],
        }),
      ).toBe(true);
    }
  });

  it('names the API request field, not the YAML path, in InvalidParameterValueException', () => {
    expect(apiFieldOf('mappings[0].batchSize')).toBe('BatchSize');
    expect(apiFieldOf('mappings[0].scalingConfig.maximumConcurrency')).toBe(
      'ScalingConfig.MaximumConcurrency',
    );
    expect(apiFieldOf('mappings[0]')).toBe('request');
    const config = load(yaml(...RESIZE, 'connections:', '  sqs: { type: sqs }'));
    expect(
      () =>
        compileMappingOptions(
          config,
          {
            name: 'm',
            function: 'resize',
            source: { connection: 'sqs', queueUrl: QUEUE },
            batchSize: 20_000,
          },
          'CreateEventSourceMapping request',
          SOURCE_PLUGINS,
        ),
      // Lambda's own text for an SQS batch over 10 without a window comes first, the fields after.
    ).toThrow(
      /^Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10\. BatchSize: must be an integer from 1 to 10000/,
    );
  });
});
