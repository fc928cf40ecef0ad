/**
 * The mapping the API describes names its source with the same ARN the source's records carry
 * (`eventSourceARN`), so ListEventSourceMappings?EventSourceArn= finds a mapping by the ARN a
 * function sees in its events.
 */
import { describe, expect, it } from 'vitest';
import { eventSourceArn, toEsmConfiguration } from '../../src/api/esm-response.ts';
import { queueArnFromUrl } from '../../src/lambda/arn.ts';
import { load, RESIZE, yaml } from '../fixtures/config/problems.ts';
import { SOURCE_PLUGINS } from '../support/plugins.ts';

const LOCALSTACK_PATH_STYLE = 'http://localhost:4566/queue/eu-west-1/000000000000/orders';

function sqsMapping(queueUrl: string, connection: string) {
  const config = load(
    yaml(
      ...RESIZE,
      'region: us-east-1',
      'connections:',
      `  sqs: { type: sqs, ${connection} }`,
      'mappings:',
      '  - name: orders',
      '    function: resize',
      `    source: { connection: sqs, queueUrl: ${queueUrl} }`,
    ),
  );
  const mapping = config.mappings[0];
  if (!mapping) throw new Error('no mapping');
  return { config, mapping };
}

describe('event-source-mapping EventSourceArn', () => {
  it('is the ARN the records carry for a LocalStack path-style queue URL', () => {
    const { config, mapping } = sqsMapping(
      LOCALSTACK_PATH_STYLE,
      'endpoint: http://localhost:4566',
    );
    expect(eventSourceArn(config, mapping, SOURCE_PLUGINS)).toBe(
      queueArnFromUrl(LOCALSTACK_PATH_STYLE, config.region),
    );
    expect(eventSourceArn(config, mapping, SOURCE_PLUGINS)).toBe(
      'arn:aws:sqs:us-east-1:000000000000:orders',
    );
  });

  it("names the SQS connection's region, as the records do, not the engine's", () => {
    const url = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';
    const { config, mapping } = sqsMapping(url, 'region: eu-west-1');
    const described = toEsmConfiguration(
      config,
      mapping,
      {
        uuid: '00000000-0000-5000-a000-000000000000',
        lastModifiedMs: 0,
        state: 'Enabled',
        stateTransitionReason: 'USER_INITIATED',
        lastProcessingResult: 'No records processed',
        origin: 'config',
      },
      SOURCE_PLUGINS,
    );
    expect(described.EventSourceArn).toBe('arn:aws:sqs:eu-west-1:123456789012:orders');
  });
});
