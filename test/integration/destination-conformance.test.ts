/**
 * The destination conformance suite against the real brokers: an SQS queue (ElasticMQ), a Kafka
 * topic, a RabbitMQ exchange bound to a queue, and a function destination on sluice's own durable
 * async queue (a real SQLite store). Each target is read back with the broker's own client.
 */
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  SQSClient,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { connect } from 'amqplib';
import { Kafka, logLevel } from 'kafkajs';
import { AsyncQueue } from '../../src/async/async-queue.ts';
import { FunctionDestination } from '../../src/destinations/function-destination.ts';
import { KafkaDestination } from '../../connectors/kafka/kafka-destination.ts';
import { RabbitMqDestination } from '../../connectors/rabbitmq/rabbitmq-destination.ts';
import { SqsDestination } from '../../connectors/sqs/sqs-destination.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { broker, uniqueName } from '../brokers/endpoints.ts';
import {
  describeDestinationConformance,
  type ReceivedMessage,
} from '../conformance/destination-conformance.ts';
import { eventually } from '../support/eventually.ts';
import { tempStorePath } from '../support/temp.ts';
import { rabbit } from './rabbitmq-helpers.ts';
import { receiveUpTo } from './sqs-receive.ts';

const RECEIVE_LIMIT_MS = 30_000;

function sqsClient(endpoint = broker('sqs').url): SQSClient {
  return new SQSClient({
    endpoint,
    region: broker('sqs').region ?? 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

const textAttributes = (a: Record<string, MessageAttributeValue> | undefined) =>
  a && Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v.StringValue ?? '']));

describeDestinationConformance('sqs', async () => {
  const client = sqsClient();
  const { QueueUrl } = await client.send(
    new CreateQueueCommand({ QueueName: uniqueName('dest-conf') }),
  );
  const queueUrl = QueueUrl!;
  const destination = new SqsDestination(() => client, queueUrl);
  return {
    destination,
    attributes: true,
    async received(count) {
      const got = await receiveUpTo(client, queueUrl, count, 30);
      return got.map((m) => ({
        body: Buffer.from(m.Body ?? '', 'utf8'),
        attributes: textAttributes(m.MessageAttributes),
      }));
    },
    // A queue the broker does not have: SendMessage is refused (QueueDoesNotExist).
    refusing: async () => new SqsDestination(() => client, `${queueUrl}-missing`),
    async cleanup() {
      await destination.stop();
      await client.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => undefined);
      client.destroy();
    },
  };
});

describeDestinationConformance('kafka', async () => {
  const kafka = new Kafka({
    clientId: 'sluice-dest-conf',
    brokers: broker('kafka').kafkaBrokers ?? [],
    logLevel: logLevel.NOTHING,
  });
  const topic = uniqueName('dest-conf');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const destination = new KafkaDestination(() => kafka, topic);
  const consumer = kafka.consumer({ groupId: uniqueName('dest-conf-reader') });
  const seen: ReceivedMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const headers = Object.entries(message.headers ?? {}).map(
        ([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : String(v)] as const,
      );
      seen.push({
        body: message.value ?? Buffer.alloc(0),
        attributes: Object.fromEntries(headers),
      });
    },
  });
  // Nothing listens on port 1: the producer cannot connect.
  const unreachable = new Kafka({
    clientId: 'sluice-dest-conf-unreachable',
    brokers: ['127.0.0.1:1'],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 500,
    retry: { retries: 0 },
  });
  return {
    destination,
    attributes: true,
    async received(count) {
      await eventually(() => seen.length >= count, `${count} records read back from ${topic}`, {
        limitMs: RECEIVE_LIMIT_MS,
      });
      return seen.slice(0, count);
    },
    refusing: async () => new KafkaDestination(() => unreachable, topic),
    async cleanup() {
      await destination.stop();
      await consumer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
});

describeDestinationConformance('rabbitmq', async () => {
  const connection = await connect(rabbit().amqpUrl);
  const channel = await connection.createChannel();
  const exchange = uniqueName('dest-conf-x');
  const queue = uniqueName('dest-conf-q');
  await channel.assertExchange(exchange, 'direct', { durable: false, autoDelete: false });
  await channel.assertQueue(queue, { durable: false });
  await channel.bindQueue(queue, exchange, 'conf');
  const destination = new RabbitMqDestination(async () => connection, exchange, 'conf');
  const seen: ReceivedMessage[] = [];
  return {
    destination,
    attributes: true,
    async received(count) {
      await eventually(
        async () => {
          for (;;) {
            const m = await channel.get(queue, { noAck: true });
            if (m === false) break;
            const headers = Object.entries(m.properties.headers ?? {}).map(
              ([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('utf8') : String(v)] as const,
            );
            seen.push({ body: m.content, attributes: Object.fromEntries(headers) });
          }
          return seen.length >= count;
        },
        `${count} messages in ${queue}`,
        { limitMs: RECEIVE_LIMIT_MS, intervalMs: 50 },
      );
      return seen.slice(0, count);
    },
    // An exchange the broker does not have: the channel is closed with 404 NOT_FOUND.
    refusing: async () =>
      new RabbitMqDestination(async () => connection, `${exchange}-missing`, 'conf'),
    async cleanup() {
      await destination.stop();
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.deleteExchange(exchange).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
});

describeDestinationConformance('function (the durable async queue)', async () => {
  const tmp = tempStorePath('sluice-dest-conf-');
  const store = new SqliteStore({ path: tmp.path });
  const destination = new FunctionDestination(new AsyncQueue({ store }), 'target');
  const seen: ReceivedMessage[] = [];
  return {
    destination,
    attributes: false,
    async received(count) {
      await eventually(
        async () => {
          const leased = await store.leaseForInvoke('target', {
            owner: 'conformance',
            nowMs: Date.now(),
            leaseMs: 600_000,
            limit: count,
          });
          seen.push(...leased.map((e) => ({ body: e.payload })));
          return seen.length >= count;
        },
        `${count} events queued for the target function`,
        { limitMs: RECEIVE_LIMIT_MS },
      );
      return seen.slice(0, count);
    },
    // A full queue (maxDepth 0) refuses every event, as the API answers 429.
    refusing: async () => new FunctionDestination(new AsyncQueue({ store, maxDepth: 0 }), 'target'),
    async cleanup() {
      await destination.stop();
      await store.close();
      tmp.cleanup();
    },
  };
});
