import { describe, expect, it } from 'vitest';
import type { BrokerConnectionConfig as ConnectionConfig } from '../../src/connections/connection-configs.ts';
import { SOURCE_PLUGINS } from '../../src/app/plugins.ts';
import { parseDestinationUri } from '../../src/destinations/destination-uri.ts';

const sqs = (name: string, endpoint: string, region = 'us-east-1'): ConnectionConfig => ({
  type: 'sqs',
  name,
  endpoint,
  region,
  credentials: undefined,
});
const ctx = (connections: ConnectionConfig[]) => ({
  connections: Object.fromEntries(connections.map((c) => [c.name, c])),
  hasFunction: (n: string) => n === 'other',
  plugins: SOURCE_PLUGINS,
});
const rabbit: ConnectionConfig = { type: 'rabbitmq', name: 'mq', url: 'amqp://x' };

describe('parseDestinationUri', () => {
  it('resolves function names and Lambda ARNs', () => {
    for (const uri of ['function:other', 'arn:aws:lambda:us-east-1:000000000000:function:other']) {
      expect(parseDestinationUri(uri, ctx([]))).toEqual({
        type: 'function',
        uri,
        functionName: 'other',
      });
    }
  });

  it('picks the SQS connection whose endpoint serves a queue URL', () => {
    const c = ctx([sqs('a', 'http://127.0.0.1:1'), sqs('b', 'http://127.0.0.1:2')]);
    expect(parseDestinationUri('http://127.0.0.1:2/000000000000/q', c)).toMatchObject({
      type: 'sqs',
      connection: 'b',
      queueUrl: 'http://127.0.0.1:2/000000000000/q',
    });
  });

  it('turns an SQS ARN into a queue URL on the connection’s endpoint', () => {
    expect(
      parseDestinationUri('arn:aws:sqs:us-east-1:000000000000:q', ctx([sqs('a', 'http://h:9/')])),
    ).toMatchObject({ connection: 'a', queueUrl: 'http://h:9/000000000000/q' });
  });

  it('takes ?connection= when several connections fit, and strips it', () => {
    const c = ctx([rabbit, { ...rabbit, name: 'mq2' }]);
    expect(() => parseDestinationUri('rabbitmq://ex/rk', c)).toThrow(/2 rabbitmq connections/);
    expect(parseDestinationUri('rabbitmq://ex/a.b?connection=mq2', c)).toEqual({
      type: 'rabbitmq',
      uri: 'rabbitmq://ex/a.b?connection=mq2',
      connection: 'mq2',
      exchange: 'ex',
      routingKey: 'a.b',
    });
    expect(parseDestinationUri('rabbitmq:///q', ctx([rabbit]))).toMatchObject({
      exchange: '',
      routingKey: 'q',
    });
  });

  it('refuses unknown forms, missing functions and missing connections', () => {
    expect(() => parseDestinationUri('function:missing', ctx([]))).toThrow(/does not exist/);
    expect(() => parseDestinationUri('kafka://t', ctx([]))).toThrow(/no kafka connection/);
    expect(() => parseDestinationUri('s3://bucket', ctx([]))).toThrow(/expected/);
  });
});
