/**
 * Shared pieces of the fidelity tests that run real runtimes behind real mappings: a Kafka topic
 * and consumer group of their own (deleted after the test), the YAML of a Kafka or SQS connection,
 * a fixture function's record file (one JSON line per record it handled) and the state a mapping
 * reports through the Lambda API (`LastProcessingResult`), the way a Lambda user would look.
 */
import { readFileSync } from 'node:fs';
import {
  ListEventSourceMappingsCommand,
  type EventSourceMappingConfiguration,
} from '@aws-sdk/client-lambda';
import type { Admin, IHeaders, Producer } from 'kafkajs';
import { expect } from 'vitest';
import { broker, uniqueName } from '../../brokers/endpoints.ts';
import { eventually, type EventuallyOptions } from '../../support/eventually.ts';
import { lambdaClient } from '../../integration/api-harness.ts';
import { kafkaClient } from '../../integration/kafka-harness.ts';
import { sqsEndpoint } from '../../integration/sqs-mapping-harness.ts';

/** The JSON lines a fixture appended to `file` (none when it has not written yet). */
export function readJsonLines<T>(file: string): T[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** The `connections:` entries of the test brokers, as YAML lines. */
export function connectionsYaml(): string[] {
  return [
    'connections:',
    `  kafka: { type: kafka, bootstrapServers: ${JSON.stringify(broker('kafka').kafkaBrokers ?? [])} }`,
    `  sqs: { type: sqs, endpoint: ${sqsEndpoint()}, region: us-east-1, credentials: { accessKeyId: test, secretAccessKey: test } }`,
  ];
}

/** A mapping entry of `mappings:` for a Kafka topic, read from its start. */
export function kafkaMappingYaml(fn: string, topic: KafkaTopic, extra: string[] = []): string[] {
  return [
    `  - name: ${fn}`,
    `    function: ${fn}`,
    `    source: { connection: kafka, topic: ${topic.topic}, consumerGroupId: ${topic.groupId}, startingPosition: TRIM_HORIZON }`,
    '    maximumBatchingWindowInSeconds: 0.1',
    ...extra.map((line) => `    ${line}`),
  ];
}

export interface KafkaTopic {
  topic: string;
  groupId: string;
  /** Sends messages to partition 0, in order (`value: null` is a tombstone). */
  send(
    messages: { key?: string | null; value: string | Buffer | null; headers?: IHeaders }[],
  ): Promise<void>;
  /** The group's committed offset on partition 0 (-1 while none is). */
  committedOffset(): Promise<number>;
  cleanup(): Promise<void>;
}

/** A one-partition topic and a consumer group name of its own. */
export async function kafkaTopic(prefix: string): Promise<KafkaTopic> {
  const kafka = kafkaClient();
  const admin: Admin = kafka.admin();
  await admin.connect();
  const topic = uniqueName(prefix);
  const groupId = uniqueName(`${prefix}-group`);
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  return {
    topic,
    groupId,
    async send(messages) {
      await producer.send({
        topic,
        messages: messages.map((m) => ({ partition: 0, key: m.key ?? null, ...m })),
      });
    },
    async committedOffset() {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const partition = entry?.partitions.find((p) => p.partition === 0);
      return Number(partition?.offset ?? -1);
    },
    async cleanup() {
      await producer.disconnect().catch(() => undefined);
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

/** The mapping of `fn` as the Lambda API shows it (state, `LastProcessingResult`). */
export async function mappingOf(
  endpoint: string,
  fn: string,
): Promise<EventSourceMappingConfiguration | undefined> {
  const client = lambdaClient(endpoint);
  try {
    const out = await client.send(new ListEventSourceMappingsCommand({ FunctionName: fn }));
    return out.EventSourceMappings?.[0];
  } finally {
    client.destroy();
  }
}

/**
 * Waits until `fn`'s Kafka mapping reports `OK` and `topic`'s group has committed `offset`: the
 * function handled the records (a failing decode or handler shows as LastProcessingResult).
 */
export async function handledAndCommitted(
  endpoint: string,
  fn: string,
  topic: KafkaTopic,
  offset: number,
  what: string,
  wait: EventuallyOptions,
): Promise<void> {
  await eventually(
    async () => {
      const mapping = await mappingOf(endpoint, fn);
      expect({
        lastProcessingResult: mapping?.LastProcessingResult,
        committed: await topic.committedOffset(),
      }).toEqual({ lastProcessingResult: 'OK', committed: offset });
    },
    what,
    wait,
  );
}
