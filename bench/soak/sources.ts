/**
 * The soak's sources: how to set each up on its broker, the YAML that maps it to the recorder
 * function, and a producer that sends one chunk of ids, retrying through outages. A send whose
 * outcome is unknown (a timeout or a dropped connection after the request left) is retried with
 * the same ids and counted as ambiguous: the broker may have stored it twice.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { SourceKind } from './metrics.ts';

export type OutageKind = 'freeze' | 'kill';

export interface SoakSource {
  readonly kind: SourceKind;
  readonly batchSize: number;
  /**
   * Most records the worker can hold for this source: (2L + P) × BatchSize (README, "Capacity
   * before polling") with L = 20 (the soak worker's `concurrency.limit` caps every invoke) and P
   * the mapping's most pollers. The bound of a kill whose scrape never answered ("blind").
   */
  readonly maxHeld: number;
  /** Connections and mappings YAML blocks (without the top-level keys), '' for none. */
  connectionYaml(): string;
  mappingYaml(): string;
  setup(): Promise<void>;
  /** Sends `ids` (stored for sure when it resolves); returns the records of ambiguous attempts. */
  send(ids: string[], deadlineMs: number): Promise<number>;
  teardown(): Promise<void>;
}

export const MAPPING = 'soak';
const SEND_TIMEOUT_MS = 5_000;
const RETRY_DELAY_MS = 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The soak worker's `concurrency.limit` (chaos.ts): no more invokes run at once. */
export const WORKER_CONCURRENCY = 20;
const maxHeld = (pollers: number, batchSize: number) =>
  (2 * WORKER_CONCURRENCY + pollers) * batchSize;

/** Retries `attempt` until it succeeds or the deadline passes; counts failed attempts' records. */
async function withRetry(
  ids: string[],
  deadlineMs: number,
  attempt: () => Promise<void>,
  ambiguous: (err: unknown) => boolean,
): Promise<number> {
  let unsure = 0;
  for (;;) {
    try {
      await attempt();
      return unsure;
    } catch (err) {
      if (ambiguous(err)) unsure += ids.length;
      if (Date.now() > deadlineMs)
        throw new Error(
          `could not send ${ids.length} records by the deadline: ${(err as Error).message}`,
          { cause: err },
        );
      await sleep(RETRY_DELAY_MS);
    }
  }
}

/**
 * Whether a failed send may still have been stored: not when the connection was refused or the
 * broker said no leader / unknown partition (nothing was written); otherwise (timeouts, dropped
 * connections) it may have been.
 */
export function mayHaveBeenStored(err: unknown): boolean {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  const text = `${e.message} ${e.cause?.code ?? ''} ${e.cause?.message ?? ''}`;
  return !/ECONNREFUSED|leader|does not host|metadata|^status /i.test(text);
}

// --- SQS -----------------------------------------------------------------------------------------

export function sqsSource(
  endpoint: string,
  opts: { visibilityTimeoutS: number; batchSize: number },
): SoakSource & { queueUrl(): string } {
  const client = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
    requestHandler: { requestTimeout: SEND_TIMEOUT_MS, connectionTimeout: 2000 },
  });
  let url = '';
  return {
    kind: 'sqs',
    batchSize: opts.batchSize,
    // maximumConcurrency 20 caps the pollers (1,250 without it; the worker runs 20 invokes anyway).
    maxHeld: maxHeld(WORKER_CONCURRENCY, opts.batchSize),
    queueUrl: () => url,
    connectionYaml: () =>
      `  sq: { type: sqs, endpoint: ${JSON.stringify(endpoint)}, region: us-east-1, credentials: { accessKeyId: test, secretAccessKey: test } }`,
    mappingYaml: () =>
      [
        `  - name: ${MAPPING}`,
        '    function: soak',
        `    source: { connection: sq, queueUrl: ${JSON.stringify(url)} }`,
        `    batchSize: ${opts.batchSize}`,
        `    scalingConfig: { maximumConcurrency: ${WORKER_CONCURRENCY} }`,
      ].join('\n'),
    async setup() {
      const out = await client.send(
        new CreateQueueCommand({
          QueueName: `soak-${randomUUID().slice(0, 8)}`,
          Attributes: { VisibilityTimeout: String(opts.visibilityTimeoutS) },
        }),
      );
      url = out.QueueUrl ?? '';
    },
    async send(ids, deadlineMs) {
      let rest = ids;
      return withRetry(
        ids,
        deadlineMs,
        async () => {
          const out = await client.send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: rest.map((id, i) => ({ Id: String(i), MessageBody: id })),
            }),
          );
          const failed = new Set((out.Failed ?? []).map((f) => Number(f.Id)));
          rest = rest.filter((_, i) => failed.has(i));
          if (rest.length > 0) throw new Error(`${rest.length} entries refused`);
        },
        (err) => !(err as Error).message.includes('entries refused'),
      );
    },
    async teardown() {
      if (url) await client.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
      client.destroy();
    },
  };
}

// --- Kafka ---------------------------------------------------------------------------------------

export function kafkaSource(
  bootstrap: string,
  opts: { batchSize: number; partitions: number },
): SoakSource {
  const kafka = new Kafka({
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: SEND_TIMEOUT_MS,
    retry: { retries: 1 },
  });
  const topic = `soak-${randomUUID().slice(0, 8)}`;
  let producer: Producer | undefined;
  return {
    kind: 'kafka',
    batchSize: opts.batchSize,
    // One poller (lane) per partition.
    maxHeld: maxHeld(opts.partitions, opts.batchSize),
    connectionYaml: () => `  kf: { type: kafka, bootstrapServers: [${JSON.stringify(bootstrap)}] }`,
    mappingYaml: () =>
      [
        `  - name: ${MAPPING}`,
        '    function: soak',
        `    source: { connection: kf, topic: ${topic}, consumerGroupId: ${topic}-group, startingPosition: TRIM_HORIZON, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 }`,
        `    batchSize: ${opts.batchSize}`,
        '    maximumBatchingWindowInSeconds: 0.2',
      ].join('\n'),
    async setup() {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic, numPartitions: opts.partitions }],
        waitForLeaders: true,
      });
      await admin.disconnect();
      producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
    },
    send(ids, deadlineMs) {
      return withRetry(
        ids,
        deadlineMs,
        async () => {
          await producer?.send({
            topic,
            acks: -1,
            timeout: SEND_TIMEOUT_MS,
            messages: ids.map((id) => ({ key: id, value: id })),
          });
        },
        mayHaveBeenStored,
      );
    },
    async teardown() {
      await producer?.disconnect().catch(() => undefined);
    },
  };
}

// --- RabbitMQ ------------------------------------------------------------------------------------

export function rabbitmqSource(amqpUrl: string, opts: { batchSize: number }): SoakSource {
  const queue = `soak-${randomUUID().slice(0, 8)}`;
  let conn: ChannelModel | undefined;
  let channel: ConfirmChannel | undefined;
  const open = async (): Promise<ConfirmChannel> => {
    if (channel) return channel;
    const c = await connect(amqpUrl, { timeout: 3000 });
    c.on('error', () => undefined);
    c.on('close', () => {
      conn = undefined;
      channel = undefined;
    });
    conn = c;
    const ch = await c.createConfirmChannel();
    ch.on('error', () => undefined);
    await ch.assertQueue(queue, { durable: true });
    channel = ch;
    return ch;
  };
  const drop = async () => {
    const c = conn;
    conn = undefined;
    channel = undefined;
    await c?.close().catch(() => undefined);
  };
  return {
    kind: 'rabbitmq',
    batchSize: opts.batchSize,
    // Without maximumConcurrency a RabbitMQ mapping is ordered: one poller.
    maxHeld: maxHeld(1, opts.batchSize),
    connectionYaml: () => `  rq: { type: rabbitmq, url: ${JSON.stringify(amqpUrl)} }`,
    mappingYaml: () =>
      [
        `  - name: ${MAPPING}`,
        '    function: soak',
        `    source: { connection: rq, queue: ${queue}, virtualHost: / }`,
        `    batchSize: ${opts.batchSize}`,
        '    maximumBatchingWindowInSeconds: 0.2',
      ].join('\n'),
    async setup() {
      await open();
    },
    send(ids, deadlineMs) {
      return withRetry(
        ids,
        deadlineMs,
        async () => {
          try {
            const ch = await open();
            for (const id of ids) ch.sendToQueue(queue, Buffer.from(id), { persistent: true });
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([
              ch.waitForConfirms(),
              new Promise(
                (_, reject) =>
                  (timer = setTimeout(
                    () => reject(new Error('confirm timed out')),
                    SEND_TIMEOUT_MS,
                  )),
              ),
            ]).finally(() => clearTimeout(timer));
          } catch (err) {
            await drop();
            throw err;
          }
        },
        mayHaveBeenStored,
      );
    },
    async teardown() {
      try {
        const ch = await open();
        await ch.deleteQueue(queue);
      } catch {
        // broker gone: nothing to delete
      }
      await drop();
    },
  };
}

// --- Async Event invokes -------------------------------------------------------------------------

export function asyncSource(port: number): SoakSource {
  const url = `http://127.0.0.1:${port}/2015-03-31/functions/soak/invocations`;
  const sendOne = async (id: string, deadlineMs: number) =>
    withRetry(
      [id],
      deadlineMs,
      async () => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'X-Amz-Invocation-Type': 'Event' },
          body: JSON.stringify({ id }),
          signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
        });
        await res.arrayBuffer();
        if (res.status !== 202) throw new Error(`status ${res.status}`);
      },
      // Refused = the worker was down, nothing stored; a status = refused by the API. Anything
      // else (reset, timeout) may have come after the durable write.
      (err) => {
        const e = err as Error & { cause?: { code?: string } };
        return !e.message.startsWith('status') && e.cause?.code !== 'ECONNREFUSED';
      },
    );
  return {
    kind: 'async',
    batchSize: 1,
    // Events being invoked: at most the worker's concurrency.
    maxHeld: WORKER_CONCURRENCY,
    connectionYaml: () => '',
    mappingYaml: () => '',
    setup: async () => undefined,
    async send(ids, deadlineMs) {
      const unsure = await Promise.all(ids.map((id) => sendOne(id, deadlineMs)));
      return unsure.reduce((a, b) => a + b, 0);
    },
    teardown: async () => undefined,
  };
}
