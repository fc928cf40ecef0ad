/**
 * Asynchronous invocation end to end: `Invoke(Event)` through `@aws-sdk/client-lambda` into a real
 * engine (real Node execution environments, SQLite queue), functions that throw, and invocation
 * records / dead-lettered events found in a real SQS queue (ElasticMQ) and a real Kafka topic.
 */
import { receiveUpTo } from './sqs-receive.ts';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { broker, uniqueName } from '../brokers/endpoints.ts';
import { API_HANDLERS, lambdaClient, startEngine, type RunningEngine } from './api-harness.ts';
import { tempDir, type TempDir } from '../support/temp.ts';

const ARN = (fn: string) => `arn:aws:lambda:us-east-1:000000000000:function:${fn}:$LATEST`;

interface InvocationRecord {
  version: string;
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: string;
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext: { statusCode: number; executedVersion: string; functionError?: string };
  responsePayload: unknown;
}

const receive = (client: SQSClient, queueUrl: string, count: number): Promise<Message[]> =>
  receiveUpTo(client, queueUrl, count, 40);

describe('async invocation records in a real SQS queue and Kafka topic', () => {
  const sqsEndpoint = () => broker('sqs');
  let dir: TempDir;
  let sqs: SQSClient;
  let kafka: Kafka;
  let admin: Admin;
  let consumer: Consumer | undefined;
  let running: RunningEngine;
  let lambda: LambdaClient;
  const queues: Record<'failures' | 'dlq' | 'success', string> = {
    failures: '',
    dlq: '',
    success: '',
  };
  const topic = uniqueName('async-records');

  beforeAll(async () => {
    dir = tempDir('sluice-async-records-');
    const endpoint = sqsEndpoint();
    sqs = new SQSClient({
      endpoint: endpoint.url,
      region: endpoint.region ?? 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    for (const key of Object.keys(queues) as (keyof typeof queues)[]) {
      const { QueueUrl } = await sqs.send(
        new CreateQueueCommand({ QueueName: uniqueName(`async-${key}`) }),
      );
      if (!QueueUrl) throw new Error('no QueueUrl');
      queues[key] = QueueUrl;
    }
    kafka = new Kafka({
      clientId: 'sluice-async-records-test',
      brokers: broker('kafka').kafkaBrokers ?? [],
      logLevel: logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });

    const code = `    code: ${JSON.stringify(API_HANDLERS)}`;
    const failing = (onFailure: string[], deadLetter: string[] = []) => [
      '    runtime: nodejs22.x',
      '    handler: index.fail',
      code,
      '    async:',
      '      maximumRetryAttempts: 1',
      '      retryDelays: [1]',
      ...onFailure,
      ...deadLetter,
    ];
    running = await startEngine(
      [
        'connections:',
        '  sqs:',
        '    type: sqs',
        `    endpoint: ${endpoint.url}`,
        `    region: ${endpoint.region ?? 'us-east-1'}`,
        '    credentials: { accessKeyId: test, secretAccessKey: test }',
        '  kafka:',
        '    type: kafka',
        `    bootstrapServers: ${JSON.stringify(broker('kafka').kafkaBrokers ?? [])}`,
        'functions:',
        '  fails-to-sqs:',
        ...failing(
          [`      onFailure: { destination: '${queues.failures}', connection: sqs }`],
          [`      deadLetter: { destination: '${queues.dlq}', connection: sqs }`],
        ),
        '  fails-to-kafka:',
        ...failing([`      onFailure: { destination: 'kafka://${topic}', connection: kafka }`]),
        '  succeeds:',
        '    runtime: nodejs22.x',
        '    handler: index.echo',
        code,
        '    async:',
        `      onSuccess: { destination: '${queues.success}', connection: sqs }`,
      ].join('\n'),
      dir.path,
    );
    lambda = lambdaClient(running.endpoint);
  });

  afterAll(async () => {
    lambda?.destroy();
    await running?.stop();
    await consumer?.disconnect().catch(() => undefined);
    await admin?.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    for (const url of Object.values(queues)) {
      if (url) await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
    }
    sqs?.destroy();
    dir?.cleanup();
  });

  /** Sends `Event` invokes; returns the request id of each (from the 202's x-amzn-RequestId). */
  async function sendEvents(fn: string, events: unknown[]): Promise<string[]> {
    const ids: string[] = [];
    for (const event of events) {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: fn,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify(event)),
        }),
      );
      expect(out.StatusCode).toBe(202);
      const id = out.$metadata.requestId;
      if (!id) throw new Error('a 202 without x-amzn-RequestId');
      ids.push(id);
    }
    return ids;
  }

  it('puts RetriesExhausted records in the SQS onFailure queue and the events in the SQS dead-letter queue', async () => {
    const events = [0, 1, 2].map((i) => ({ order: i, tag: 'sqs' }));
    const ids = await sendEvents('fails-to-sqs', events);

    const records = (await receive(sqs, queues.failures, 3)).map(
      (m) => JSON.parse(m.Body ?? '{}') as InvocationRecord,
    );
    expect(records.map((r) => r.requestContext.requestId).sort()).toEqual([...ids].sort());
    for (const r of records) {
      const event = events[ids.indexOf(r.requestContext.requestId)];
      expect(r).toEqual({
        version: '1.0',
        timestamp: expect.any(String),
        requestContext: {
          requestId: r.requestContext.requestId,
          functionArn: ARN('fails-to-sqs'),
          condition: 'RetriesExhausted',
          // The first attempt and maximumRetryAttempts (1) retries.
          approximateInvokeCount: 2,
        },
        requestPayload: event,
        responseContext: {
          statusCode: 200,
          executedVersion: '$LATEST',
          functionError: 'Unhandled',
        },
        responsePayload: expect.objectContaining({
          errorType: 'TypeError',
          errorMessage: `api-fail refused ${JSON.stringify(event)}`,
        }),
      });
      expect(Number.isNaN(Date.parse(r.timestamp))).toBe(false);
    }

    const dead = await receive(sqs, queues.dlq, 3);
    expect(dead).toHaveLength(3);
    for (const m of dead) {
      // The original event, unchanged, with Lambda's three attributes.
      const body = JSON.parse(m.Body ?? '{}') as { order: number };
      expect(body).toEqual(events[body.order]);
      const requestId = m.MessageAttributes?.RequestID?.StringValue;
      expect(requestId).toBe(ids[body.order]);
      expect(m.MessageAttributes?.ErrorCode?.StringValue).toBe('200');
      expect(m.MessageAttributes?.ErrorMessage?.StringValue).toContain(
        `api-fail refused ${JSON.stringify(body)}`,
      );
    }
  });

  it('puts RetriesExhausted records in the Kafka onFailure topic, keyed by request id', async () => {
    const events = [0, 1].map((i) => ({ order: i, tag: 'kafka' }));
    const ids = await sendEvents('fails-to-kafka', events);

    consumer = kafka.consumer({ groupId: uniqueName('async-records') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: { key: string; value: InvocationRecord }[] = [];
    const c = consumer;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no records on the topic in 30 s')), 30_000);
      c.run({
        eachMessage: async ({ message }) => {
          seen.push({
            key: message.key?.toString() ?? '',
            value: JSON.parse(message.value?.toString() ?? '{}') as InvocationRecord,
          });
          if (seen.length >= events.length) {
            clearTimeout(timer);
            resolve();
          }
        },
      }).catch(reject);
    });
    expect(seen.map((s) => s.key).sort()).toEqual([...ids].sort());
    for (const { key, value } of seen) {
      const event = events[ids.indexOf(key)];
      expect(value).toMatchObject({
        version: '1.0',
        requestContext: {
          requestId: key,
          functionArn: ARN('fails-to-kafka'),
          condition: 'RetriesExhausted',
          approximateInvokeCount: 2,
        },
        requestPayload: event,
        responseContext: { statusCode: 200, functionError: 'Unhandled' },
        responsePayload: { errorType: 'TypeError' },
      });
    }
  });

  it('puts Success records in the SQS onSuccess queue', async () => {
    const [id] = await sendEvents('succeeds', [{ fine: true }]);
    const [m] = await receive(sqs, queues.success, 1);
    const record = JSON.parse(m?.Body ?? '{}') as InvocationRecord;
    expect(record).toMatchObject({
      version: '1.0',
      requestContext: {
        requestId: id,
        functionArn: ARN('succeeds'),
        condition: 'Success',
        approximateInvokeCount: 1,
      },
      requestPayload: { fine: true },
      responseContext: { statusCode: 200, executedVersion: '$LATEST' },
      responsePayload: { echo: { fine: true }, requestId: id },
    });
    expect(record.responseContext.functionError).toBeUndefined();
  });
});
