/**
 * Shared set-up for the Kafka integration tests: topics with unique names (deleted after the
 * test), a raw producer, connectors on their own kafkajs clients (as separate processes would
 * have), and a reader for a destination topic.
 */
import { Kafka, logLevel, type Admin, type KafkaConfig, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import {
  KafkaConnector,
  KafkaFailureSink,
  KafkajsSourceClient,
  type KafkaConnectorOptions,
  type KafkaRetrySettings,
} from '../../connectors/kafka/index.ts';
import { KafkaDestination } from '../../connectors/kafka/kafka-destination.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { broker, uniqueName } from '../brokers/endpoints.ts';

export function kafkaClient(overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'sluice-test',
    brokers: broker('kafka').kafkaBrokers ?? [],
    logLevel: logLevel.NOTHING,
    ...overrides,
  });
}

export const NO_RETRY_LIMITS: KafkaRetrySettings = {
  maximumRetryAttempts: Number.POSITIVE_INFINITY,
  maximumRecordAgeMs: Number.POSITIVE_INFINITY,
  bisectBatchOnFunctionError: false,
};

/** Short session so a vanished member's partitions move on within seconds. */
export const TEST_TUNING = { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, retryBaseMs: 50 };

export interface KafkaFixture {
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  topic: string;
  failedTopic: string;
  groupId: string;
  /** Sends values (in order) to one partition; `null` values are tombstones. */
  send(
    partition: number,
    values: readonly (string | Buffer | null)[],
    key?: string | Buffer | null,
  ): Promise<void>;
  /** A started connector of the fixture's group, on its own client. */
  open(overrides?: Partial<KafkaConnectorOptions>): Promise<KafkaConnector>;
  /**
   * The failure records in the destination topic: the one-record payload's value ('' when the
   * payload was left out), the message key as text and as its raw bytes, the parsed body.
   */
  readFailures(): Promise<
    { value: string; key: string | null; rawKey: Buffer | null; body: Record<string, unknown> }[]
  >;
  opened: KafkaConnector[];
  cleanup(): Promise<void>;
}

export async function kafkaFixture(
  partitions: number,
  options: {
    retry?: KafkaRetrySettings;
    logger?: Logger;
    /** Topic configs of the source topic, e.g. a larger `max.message.bytes`. */
    topicConfig?: Record<string, string>;
  } = {},
): Promise<KafkaFixture> {
  const kafka = kafkaClient();
  const admin = kafka.admin();
  await admin.connect();
  const topic = uniqueName('kc');
  const failedTopic = `${topic}-failed`;
  const groupId = uniqueName('kc-group');
  await admin.createTopics({
    topics: [
      {
        topic,
        numPartitions: partitions,
        configEntries: Object.entries(options.topicConfig ?? {}).map(([name, value]) => ({
          name,
          value,
        })),
      },
      { topic: failedTopic, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const opened: KafkaConnector[] = [];
  const destinations: KafkaDestination[] = [];
  const servers = broker('kafka').kafkaBrokers ?? [];
  const fixture: KafkaFixture = {
    kafka,
    admin,
    producer,
    topic,
    failedTopic,
    groupId,
    opened,
    async send(partition, values, key) {
      for (let i = 0; i < values.length; i += 1000) {
        await producer.send({
          topic,
          messages: values
            .slice(i, i + 1000)
            .map((value) => ({ partition, value, key: key ?? null })),
        });
      }
    },
    async open(overrides = {}) {
      const destination = new KafkaDestination(() => kafka, failedTopic);
      destinations.push(destination);
      const connector = new KafkaConnector({
        name: 'kafka-test',
        topic,
        consumerGroupId: groupId,
        startingPosition: 'TRIM_HORIZON',
        bootstrapServers: servers,
        retry: options.retry ?? NO_RETRY_LIMITS,
        client: new KafkajsSourceClient(kafkaClient()),
        failureSink: new KafkaFailureSink({
          destination,
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:test',
          bootstrapServers: servers.join(','),
          logger: options.logger ?? silentLogger(),
        }),
        tuning: TEST_TUNING,
        ...(options.logger ? { logger: options.logger } : {}),
        ...overrides,
      });
      await connector.start();
      opened.push(connector);
      return connector;
    },
    async readFailures() {
      const offsets = await admin.fetchTopicOffsets(failedTopic);
      const total = offsets.reduce((n, o) => n + Number(o.high), 0);
      if (total === 0) return [];
      const consumer = kafka.consumer({ groupId: uniqueName('kc-reader') });
      await consumer.connect();
      await consumer.subscribe({ topic: failedTopic, fromBeginning: true });
      const out: Awaited<ReturnType<KafkaFixture['readFailures']>> = [];
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ message }) => {
              const body = JSON.parse(message.value?.toString('utf8') ?? '{}') as {
                payload?: { records: Record<string, { value?: string }[]> };
              };
              const record = Object.values(body.payload?.records ?? {})[0]?.[0];
              out.push({
                value: Buffer.from(record?.value ?? '', 'base64').toString('utf8'),
                key: message.key?.toString('utf8') ?? null,
                rawKey: message.key ? Buffer.from(message.key) : null,
                body: body as unknown as Record<string, unknown>,
              });
              if (out.length >= total) resolve();
            },
          })
          .catch(reject);
      });
      await consumer.disconnect();
      return out;
    },
    async cleanup() {
      await Promise.allSettled(opened.map((c) => c.stop()));
      await Promise.allSettled(destinations.map((d) => d.stop()));
      await producer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic, failedTopic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
  return fixture;
}
