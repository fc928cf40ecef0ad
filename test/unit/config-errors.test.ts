import { describe, expect, it } from 'vitest';
import { formatPath, redactUrlCredentials, showValue } from '../../src/config/config-error.ts';
import { SOURCE_PLUGINS } from '../../src/app/plugins.ts';
import { parseDestination } from '../../src/config/destinations.ts';
import { problemAt, problemsOf, RESIZE, yaml } from '../fixtures/config/problems.ts';

describe('config errors: unknown keys', () => {
  it('name the key, point at it, and suggest the nearest known key', () => {
    const problems = problemsOf(yaml(...RESIZE, '    memorysize: 256', 'mapings: []'));
    expect(problemAt(problems, 'functions.resize.memorysize')).toMatchObject({
      line: 6,
      column: 5,
      message: 'is not a known key (did you mean memorySize?)',
    });
    expect(problemAt(problems, 'mapings')).toMatchObject({
      line: 7,
      column: 1,
      message: 'is not a known key (did you mean mappings?)',
    });
  });

  it('list the known keys when nothing is close', () => {
    const p = problemAt(problemsOf(yaml('logging: { colour: red }')), 'logging.colour');
    expect(p.message).toBe('is not a known key; known keys here: level, format');
  });

  it('apply inside connection types and nested maps', () => {
    const problems = problemsOf(
      yaml(
        'connections:',
        '  k: { type: kafka, bootstrapServers: [a:9092], sasl: { mechanism: plain, user: u, password: p } }',
      ),
    );
    expect(problemAt(problems, 'connections.k.sasl.user').message).toContain('is not a known key');
    expect(problemAt(problems, 'connections.k.sasl.username').message).toBe('is required');
  });

  it('enum values get a typo hint', () => {
    const p = problemAt(problemsOf(yaml('logging: { level: warning }')), 'logging.level');
    expect(p.message).toBe(
      'must be one of trace, debug, info, warn, error, fatal, silent, got "warning" (did you mean warn?)',
    );
  });
});

describe('config errors: secrets are never echoed', () => {
  it('hides tokens, passwords and URL credentials', () => {
    const problems = problemsOf(
      yaml(
        'api: { authToken: 12345 }',
        'connections:',
        '  k: { type: kafka, bootstrapServers: [a:9092], sasl: { mechanism: plain, username: u, password: 99 } }',
        '  r: { type: rabbitmq, url: "http://guest:s3cret@host" }',
      ),
    );
    expect(problemAt(problems, 'api.authToken').message).toBe('must be a string, got ***');
    expect(problemAt(problems, 'connections.k.sasl.password').message).toBe(
      'must be a string, got ***',
    );
    const url = problemAt(problems, 'connections.r.url').message;
    expect(url).toContain('http://***@host');
    expect(url).not.toContain('s3cret');
  });

  it('helpers', () => {
    expect(redactUrlCredentials('amqp://u:p@h:5672/v and https://x@y')).toBe(
      'amqp://***@h:5672/v and https://***@y',
    );
    expect(showValue('abc', ['triggers', 0, 'authToken'])).toBe('***');
    expect(showValue('x'.repeat(200), ['a']).length).toBe(80);
    expect(formatPath(['mappings', 0, 'source', 'queueUrl'])).toBe('mappings[0].source.queueUrl');
    expect(formatPath(['functions', 'a b'])).toBe('functions["a b"]');
  });
});

describe('destinations', () => {
  it('parses every accepted form', () => {
    expect(parseDestination('function:f', SOURCE_PLUGINS)).toEqual({
      type: 'function',
      functionName: 'f',
    });
    expect(
      parseDestination('arn:aws:lambda:us-east-1:000000000000:function:f', SOURCE_PLUGINS),
    ).toEqual({
      type: 'function',
      functionName: 'f',
    });
    expect(parseDestination('kafka://t.failed', SOURCE_PLUGINS)).toEqual({
      type: 'kafka',
      topic: 't.failed',
    });
    expect(parseDestination('rabbitmq://ex/a.b', SOURCE_PLUGINS)).toEqual({
      type: 'rabbitmq',
      exchange: 'ex',
      routingKey: 'a.b',
    });
    expect(parseDestination('rabbitmq:///q', SOURCE_PLUGINS)).toEqual({
      type: 'rabbitmq',
      exchange: '',
      routingKey: 'q',
    });
    expect(
      parseDestination('https://sqs.us-east-1.amazonaws.com/1/q', SOURCE_PLUGINS),
    ).toMatchObject({
      type: 'sqs',
    });
    expect(parseDestination('sns://x', SOURCE_PLUGINS)).toBeUndefined();
    expect(parseDestination('http://host', SOURCE_PLUGINS)).toBeUndefined();
  });
});
