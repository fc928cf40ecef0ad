import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, sluiceSchema } from '../../src/app/config.ts';

import { isSluiceError, type SluiceError } from '../../src/errors.ts';
import { FIXTURES, NOW, load, problemAt, problemsOf, yaml } from '../fixtures/config/problems.ts';

const ROOT = resolve(import.meta.dirname, '../..');

describe('loadConfig: a full valid config', () => {
  it('compiles with defaults filled in and units converted', async () => {
    const config = await loadConfig(
      resolve(FIXTURES, 'full.yaml'),
      { PORT: '4000', SLUICE_API_TOKEN: 'tok', S3_TOKEN: 's3-tok' },
      { now: NOW },
    );
    expect(config.file).toBe(resolve(FIXTURES, 'full.yaml'));
    expect(config.region).toBe('us-east-1');
    expect(config.accountId).toBe('000000000000');
    expect(config.concurrency).toEqual({ limit: 200, minimumUnreserved: 20 });
    expect(config.api).toMatchObject({ host: '0.0.0.0', port: 4000, authToken: 'tok' });
    expect(config.storage.path).toBe(resolve(FIXTURES, 'state/sluice.db'));
    expect(config.logging).toEqual({ level: 'debug', format: 'pretty' });

    const resize = config.functions.resize!;
    expect(resize).toMatchObject({
      name: 'resize',
      runtime: 'nodejs22.x',
      handler: 'index.handler',
      codeDir: resolve(FIXTURES, 'functions/resize'),
      memorySizeMb: 256,
      timeoutMs: 30_000,
      idleTimeoutMs: 60_000,
      environment: { BUCKET: 'images', WIDTH: '640', DEBUG: 'true' },
      region: 'us-east-1',
      accountId: '000000000000',
      reservedConcurrency: 20,
      provisionedConcurrency: 2,
    });
    expect(resize.async).toEqual({
      maximumRetryAttempts: 1,
      maximumEventAgeMs: 600_000,
      retryDelaysMs: [500, 2000],
      onSuccess: { type: 'function', uri: 'function:orders', functionName: 'orders' },
      onFailure: {
        type: 'sqs',
        uri: 'http://127.0.0.1:9324/000000000000/failed',
        connection: 'sqs',
        queueUrl: 'http://127.0.0.1:9324/000000000000/failed',
      },
      deadLetter: {
        type: 'rabbitmq',
        uri: 'rabbitmq:///dead',
        connection: 'rabbit',
        exchange: '',
        routingKey: 'dead',
      },
    });

    const orders = config.functions.orders!;
    expect(orders).toMatchObject({ memorySizeMb: 128, timeoutMs: 3000, idleTimeoutMs: 300_000 });
    expect(orders.reservedConcurrency).toBeUndefined();
    expect(orders.provisionedConcurrency).toBe(0);
    expect(orders.async).toMatchObject({
      maximumRetryAttempts: 2,
      maximumEventAgeMs: 21_600_000,
      retryDelaysMs: [60_000, 120_000],
    });
    expect(orders.extensionsDir).toBeUndefined();

    const go = config.functions.go!;
    expect(go.handler).toBe('bootstrap');
    expect(go.extensionsDir).toBe(resolve(FIXTURES, 'functions/go/extensions'));

    expect(config.connections.kafka).toEqual({
      type: 'kafka',
      name: 'kafka',
      bootstrapServers: ['127.0.0.1:9092', '127.0.0.1:9093'],
      clientId: 'sluice',
      sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'secret' },
      ssl: {
        caFile: resolve(FIXTURES, 'ca.pem'),
        certFile: undefined,
        keyFile: undefined,
        rejectUnauthorized: true,
      },
    });
    expect(config.connections.sqs).toMatchObject({
      endpoint: 'http://127.0.0.1:9324',
      region: 'eu-west-1',
    });

    const [sqs, fifo, kafka, kafkaAt, rabbit] = config.mappings;
    expect(sqs).toMatchObject({
      type: 'sqs',
      enabled: true,
      batchSize: 10,
      maximumBatchingWindowMs: 0,
      filters: [],
      reportBatchItemFailures: false,
      maximumConcurrency: undefined,
      source: { connection: 'sqs', fifo: false },
    });
    expect(fifo).toMatchObject({
      enabled: false,
      source: { fifo: true },
      reportBatchItemFailures: true,
      maximumConcurrency: 5,
      filters: [{ parsed: { body: { type: ['order'] } } }],
    });
    expect(kafka).toMatchObject({
      type: 'kafka',
      batchSize: 100,
      maximumBatchingWindowMs: 500,
      source: {
        topic: 'clicks',
        consumerGroupId: 'sluice-clicks',
        startingPosition: 'TRIM_HORIZON',
      },
      // Lambda caps infinite retries at 10 when an onFailure destination is set.
      maximumRetryAttempts: 10,
      maximumRecordAgeMs: Infinity,
      bisectBatchOnFunctionError: false,
      onFailure: { type: 'kafka', topic: 'clicks-failed', connection: 'kafka' },
    });
    expect(kafkaAt).toMatchObject({
      source: {
        consumerGroupId: 'replay',
        startingPosition: 'AT_TIMESTAMP',
        startingPositionTimestampMs: Date.UTC(2024, 0, 1),
      },
      maximumRetryAttempts: 3,
      maximumRecordAgeMs: 3_600_000,
      bisectBatchOnFunctionError: true,
      onFailure: undefined,
    });
    expect(rabbit).toMatchObject({
      type: 'rabbitmq',
      batchSize: 100,
      maximumBatchingWindowMs: 500,
      maximumConcurrency: 1,
      maximumRetryAttempts: Infinity,
      source: { queue: 'images', virtualHost: '/' },
    });
    expect(config.triggers).toEqual([
      {
        name: 'uploads',
        type: 's3',
        functionName: 'resize',
        path: '/triggers/s3/uploads',
        authToken: 's3-tok',
        events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:Delete'],
        filter: { prefix: 'images/', suffix: '' },
        maxQueueDepth: 10_000,
      },
    ]);
  });

  it('an empty file is an engine with nothing configured and every default', () => {
    const config = load('');
    expect(config.concurrency).toEqual({ limit: 1000, minimumUnreserved: 100 });
    expect(config.api).toEqual({
      host: '127.0.0.1',
      port: 3001,
      authToken: undefined,
      readiness: 'lenient',
      allowUnauthenticated: false,
      maxConnections: 1024,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 60_000,
      keepAliveTimeoutMs: 5_000,
    });
    expect(config.storage.path).toBe(resolve(FIXTURES, '.sluice/state.db'));
    expect(config.logging).toEqual({ level: 'info', format: 'json' });
    expect(config.functions).toEqual({});
    expect(config.mappings).toEqual([]);
  });

  it('loads the example config/sluice.yaml', async () => {
    const config = await loadConfig(resolve(ROOT, 'config/sluice.yaml'), {});
    expect(Object.keys(config.functions)).toContain('resize');
    expect(config.mappings.map((m) => m.type)).toEqual(['sqs', 'kafka', 'rabbitmq']);
    expect(config.api.port).toBe(3001);
  });

  it('config/sluice.schema.json is the schema the validator uses', async () => {
    const file = JSON.parse(await readFile(resolve(ROOT, 'config/sluice.schema.json'), 'utf8'));
    // On a mismatch, regenerate: node --input-type=module -e "import {sluiceSchema} from
    // './src/config/schema.ts'; ..." (JSON.stringify, then prettier --write).
    expect(file).toEqual(sluiceSchema);
  });
});

describe('loadConfig: files and syntax', () => {
  it('a missing file is CONFIG_NOT_FOUND naming the path', async () => {
    const path = resolve(FIXTURES, 'does-not-exist.yaml');
    const error = await loadConfig(path).catch((e: unknown) => e);
    expect(isSluiceError(error, 'CONFIG_NOT_FOUND')).toBe(true);
    expect((error as SluiceError).message).toContain(path);
    expect((error as SluiceError).context.file).toBe(path);
  });

  it('a YAML syntax error carries the line and column of the parser', () => {
    const problems = problemsOf(yaml('api:', '  host: 127.0.0.1', '  port: [3001', 'logging: {}'));
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatchObject({ file: 'sluice.yaml', path: '(yaml)', line: 4 });
    expect(problems[0]!.message).toMatch(/^is not valid YAML: /);
  });

  it('duplicate keys are a YAML error', () => {
    const problems = problemsOf(yaml('api:', '  port: 1', '  port: 2'));
    expect(problems[0]).toMatchObject({ line: 3, column: 3 });
    expect(problems[0]!.message).toMatch(/unique/);
  });

  it('the top level must be a map', () => {
    const p = problemAt(problemsOf('- a\n- b\n'), '(top level)');
    expect(p.message).toBe('must be a map of keys to values, got ["a","b"]');
  });

  it('reports every problem in one error, ordered by line, with file:line:column', () => {
    let error: unknown;
    try {
      load(
        yaml(
          'functions:',
          '  resize:',
          '    runtime: nodejs18.x',
          '    handler: index.handler',
          '    code: ./functions/resize',
          '    memorySize: 64',
          'api: { port: 70000 }',
        ),
      );
    } catch (e) {
      error = e;
    }
    expect(isSluiceError(error, 'CONFIG_INVALID')).toBe(true);
    const message = (error as SluiceError).message;
    expect(message).toBe(
      [
        'Invalid config sluice.yaml: 3 problems',
        '  sluice.yaml:3:14 functions.resize.runtime must be one of nodejs20.x, nodejs22.x, nodejs24.x, python3.N (e.g. python3.12), provided.al2023, provided.al2, provided, got "nodejs18.x"',
        '  sluice.yaml:6:17 functions.resize.memorySize must be an integer from 128 to 10240 (MB), got 64',
        '  sluice.yaml:7:14 api.port must be an integer from 0 to 65535, got 70000',
      ].join('\n'),
    );
    expect((error as SluiceError).context.problems).toHaveLength(3);
  });
});
