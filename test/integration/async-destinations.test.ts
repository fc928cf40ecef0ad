import { receiveUpTo } from './sqs-receive.ts';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { connect } from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AsyncRuntime } from '../../src/app/async-runtime.ts';
import type { AsyncConfig, DestinationConfig, FunctionConfig } from '../../src/config/types.ts';
import type { BrokerConnectionConfig as ConnectionConfig } from '../../src/connections/connection-configs.ts';
import { ConcurrencyController } from '../../src/invoker/concurrency.ts';
import { EnvironmentPool } from '../../src/invoker/environment-pool.ts';
import { Invoker } from '../../src/invoker/invoker.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { EngineMetrics } from '../../src/observability/metrics.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { broker, uniqueName } from '../brokers/endpoints.ts';
import { FakeEnvironment } from '../unit/fakes/fake-environment.ts';
import { metricValue, spec } from '../unit/fakes/async-harness.ts';
import { eventually } from '../support/eventually.ts';
import { tempStorePath } from '../support/temp.ts';

function connections(): Record<string, ConnectionConfig> {
  const sqs = broker('sqs');
  return {
    sqs: {
      type: 'sqs',
      name: 'sqs',
      endpoint: sqs.url,
      region: sqs.region ?? 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    },
    kafka: {
      type: 'kafka',
      name: 'kafka',
      bootstrapServers: broker('kafka').kafkaBrokers ?? [],
      clientId: 'sluice-async-test',
      sasl: undefined,
      ssl: undefined,
    },
    mq: { type: 'rabbitmq', name: 'mq', url: broker('rabbitmq').amqpUrl ?? '' },
  };
}

/** An engine slice: real store, queue, worker, destinations and brokers; fake environments. */
async function engine(async: AsyncConfig) {
  const tmp = tempStorePath();
  const logger = silentLogger();
  const metrics = new EngineMetrics();
  const store = new SqliteStore({ path: tmp.path });
  const pool = new EnvironmentPool({
    createEnvironment: (o) =>
      new FakeEnvironment(o, async (req) => {
        const event = JSON.parse(req.payload.toString()) as { fail?: boolean };
        if (event.fail) throw new Error(`failed ${req.requestId}`);
        return { ok: true };
      }),
    onLog: () => undefined,
    logger,
  });
  const invoker = new Invoker({
    concurrency: new ConcurrencyController({
      engineLimit: 20,
      reserved: {},
      minimumUnreserved: 10,
    }),
    pool,
    logger,
    metrics,
  });
  invoker.register(spec('f'));
  const fn: FunctionConfig = {
    ...spec('f'),
    reservedConcurrency: undefined,
    provisionedConcurrency: 0,
    async,
  };
  const runtime = new AsyncRuntime({
    config: {
      region: 'us-east-1',
      accountId: '000000000000',
      functions: { f: fn },
      connections: connections(),
    },
    invoker,
    store,
    logger,
    metrics,
    worker: { pollIntervalMs: 100 },
    delivery: { retries: 1, minTimeoutMs: 50, maxTimeoutMs: 100 },
  });
  await runtime.start();
  onTestFinished(async () => {
    await runtime.stop(2000);
    await store.close();
    tmp.cleanup();
  });
  return { runtime, metrics, store };
}

const base = (over: Partial<AsyncConfig>): AsyncConfig => ({
  maximumRetryAttempts: 1,
  maximumEventAgeMs: 3_600_000,
  retryDelaysMs: [50],
  onSuccess: undefined,
  onFailure: undefined,
  deadLetter: undefined,
  ...over,
});

function sqsClient(): SQSClient {
  const sqs = broker('sqs');
  const client = new SQSClient({
    endpoint: sqs.url,
    region: sqs.region ?? 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  onTestFinished(() => client.destroy());
  return client;
}

async function createQueue(client: SQSClient, name: string): Promise<string> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error('no QueueUrl');
  onTestFinished(() => client.send(new DeleteQueueCommand({ QueueUrl })).then(() => undefined));
  return QueueUrl;
}

const receiveAll = (client: SQSClient, queueUrl: string, count: number): Promise<Message[]> =>
  receiveUpTo(client, queueUrl, count, 30);

const sqsDest = (queueUrl: string): DestinationConfig => ({
  type: 'sqs',
  uri: queueUrl,
  connection: 'sqs',
  queueUrl,
});

describe('async invocation records in real brokers', () => {
  it('sends failed events’ records to an SQS onFailure queue and the events to an SQS dead-letter queue', async () => {
    const client = sqsClient();
    const failures = await createQueue(client, uniqueName('async-failures'));
    const dlq = await createQueue(client, uniqueName('async-dlq'));
    const { runtime } = await engine(
      base({ onFailure: sqsDest(failures), deadLetter: sqsDest(dlq) }),
    );
    for (let i = 0; i < 3; i++) {
      await runtime.queue.enqueue({
        functionName: 'f',
        payload: Buffer.from(JSON.stringify({ fail: true, i })),
        requestId: `sqs-${i}`,
      });
    }
    await runtime.queue.enqueue({
      functionName: 'f',
      payload: Buffer.from('{"ok":1}'),
      requestId: 'fine',
    });

    const records = (await receiveAll(client, failures, 3)).map((m) => JSON.parse(m.Body ?? '{}'));
    expect(records.map((r) => r.requestContext.requestId).sort()).toEqual([
      'sqs-0',
      'sqs-1',
      'sqs-2',
    ]);
    for (const r of records) {
      expect(r).toMatchObject({
        version: '1.0',
        requestContext: {
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST',
          condition: 'RetriesExhausted',
          approximateInvokeCount: 2,
        },
        requestPayload: { fail: true },
        responseContext: {
          statusCode: 200,
          executedVersion: '$LATEST',
          functionError: 'Unhandled',
        },
        responsePayload: { errorType: 'Error' },
      });
      expect(Number.isNaN(Date.parse(r.timestamp))).toBe(false);
    }
    const dead = await receiveAll(client, dlq, 3);
    expect(dead).toHaveLength(3);
    for (const m of dead) {
      const body = JSON.parse(m.Body ?? '{}') as { i: number };
      expect(m.MessageAttributes?.RequestID?.StringValue).toBe(`sqs-${body.i}`);
      expect(m.MessageAttributes?.ErrorCode?.StringValue).toBe('200');
      expect(m.MessageAttributes?.ErrorMessage?.StringValue).toBe(`Error: failed sqs-${body.i}`);
    }
    await eventually(async () => (await runtime.queue.depth()) === 0, 'the async queue empty');
  });

  it('sends failed events’ records to a Kafka topic', async () => {
    const topic = uniqueName('async-failures');
    const kafka = new Kafka({
      clientId: 'async-test',
      brokers: broker('kafka').kafkaBrokers ?? [],
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    onTestFinished(async () => {
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    });
    const { runtime } = await engine(
      base({
        maximumRetryAttempts: 0,
        onFailure: { type: 'kafka', uri: `kafka://${topic}`, connection: 'kafka', topic },
      }),
    );
    for (let i = 0; i < 2; i++) {
      await runtime.queue.enqueue({
        functionName: 'f',
        payload: Buffer.from(JSON.stringify({ fail: true, i })),
        requestId: `k-${i}`,
      });
    }
    await eventually(async () => (await runtime.queue.depth()) === 0, 'the async queue empty', {
      limitMs: 30_000,
    });

    const consumer = kafka.consumer({ groupId: uniqueName('async-test') });
    await consumer.connect();
    onTestFinished(() => consumer.disconnect());
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen: { key: string; value: Record<string, unknown> }[] = [];
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push({
              key: message.key?.toString() ?? '',
              value: JSON.parse(message.value?.toString() ?? '{}'),
            });
            if (seen.length >= 2) resolve();
          },
        })
        .catch(reject);
    });
    expect(seen.map((s) => s.key).sort()).toEqual(['k-0', 'k-1']);
    for (const s of seen) {
      expect(s.value).toMatchObject({
        requestContext: {
          requestId: s.key,
          condition: 'RetriesExhausted',
          approximateInvokeCount: 1,
        },
      });
    }
  });

  it('publishes Success records to a RabbitMQ exchange with publisher confirms', async () => {
    const conn = await connect(broker('rabbitmq').amqpUrl ?? '');
    onTestFinished(() => conn.close());
    const ch = await conn.createChannel();
    const queue = uniqueName('async-success');
    await ch.assertQueue(queue, { durable: false, autoDelete: false });
    onTestFinished(() => ch.deleteQueue(queue).then(() => undefined));
    const { runtime } = await engine(
      base({
        onSuccess: {
          type: 'rabbitmq',
          uri: `rabbitmq:///${queue}`,
          connection: 'mq',
          exchange: '',
          routingKey: queue,
        },
      }),
    );
    await runtime.queue.enqueue({
      functionName: 'f',
      payload: Buffer.from('{"x":1}'),
      requestId: 'rmq-1',
    });
    await eventually(async () => (await runtime.queue.depth()) === 0, 'the async queue empty', {
      limitMs: 20_000,
    });
    const msg = await ch.get(queue, { noAck: true });
    expect(msg).not.toBe(false);
    if (msg === false) return;
    expect(JSON.parse(msg.content.toString())).toMatchObject({
      requestContext: { requestId: 'rmq-1', condition: 'Success' },
      responsePayload: { ok: true },
    });
    expect(msg.properties.messageId).toBe('rmq-1:onSuccess');
  });

  it('keeps records for an unreachable destination and delivers them once it exists', async () => {
    const client = sqsClient();
    const name = uniqueName('async-late');
    const url = `${broker('sqs').url}/000000000000/${name}`;
    const { runtime, metrics } = await engine(base({ onSuccess: sqsDest(url) }));
    await runtime.queue.enqueue({
      functionName: 'f',
      payload: Buffer.from('{}'),
      requestId: 'late-1',
    });
    await eventually(
      async () => (await metricValue(metrics, 'sluice_destination_delivery_failures_total')) >= 2,
      'two destination delivery failures counted',
      { limitMs: 20_000 },
    );
    expect(await runtime.queue.depth()).toBe(1);
    await createQueue(client, name);
    const [m] = await receiveAll(client, url, 1);
    expect(JSON.parse(m?.Body ?? '{}')).toMatchObject({
      requestContext: { requestId: 'late-1', condition: 'Success' },
    });
    await eventually(async () => (await runtime.queue.depth()) === 0, 'the async queue empty');
  });
});
