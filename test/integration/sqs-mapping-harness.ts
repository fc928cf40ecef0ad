/**
 * Shared pieces of the SQS mapping tests: queues on the test ElasticMQ, a collector the
 * `sqs-recorder` function reports to (what arrived, in which order, how many batches at once) and
 * an engine config with one function and the SQS connection.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Engine } from '../../src/app/sluice-app.ts';
import { broker, uniqueName } from '../brokers/endpoints.ts';
import { FUNCTIONS_DIR } from './environment-harness.ts';
import { listenOnFreePort } from '../support/ports.ts';

export const REGION = 'us-east-1';
export const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export function sqsEndpoint(): string {
  const url = broker('sqs').url;
  if (!url) throw new Error('the SQS broker has no URL');
  return url;
}

export function sqsClient(): SQSClient {
  return new SQSClient({ endpoint: sqsEndpoint(), region: REGION, credentials: CREDENTIALS });
}

export interface TestQueue {
  url: string;
  arn: string;
  dlqUrl: string | undefined;
}

export async function createQueue(
  sqs: SQSClient,
  options: { fifo?: boolean; visibilityTimeoutS?: number; maxReceiveCount?: number } = {},
): Promise<TestQueue> {
  const suffix = options.fifo ? '.fifo' : '';
  const base: Record<string, string> = options.fifo ? { FifoQueue: 'true' } : {};
  const create = async (name: string, attributes: Record<string, string>) => {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { ...base, ...attributes } }),
    );
    if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
    return QueueUrl;
  };
  const arnOf = async (url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn ?? '';
  const attributes: Record<string, string> = {
    VisibilityTimeout: String(options.visibilityTimeoutS ?? 30),
  };
  let dlqUrl: string | undefined;
  if (options.maxReceiveCount !== undefined) {
    dlqUrl = await create(uniqueName('esm-dlq') + suffix, {});
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: await arnOf(dlqUrl),
      maxReceiveCount: options.maxReceiveCount,
    });
  }
  const url = await create(uniqueName('esm') + suffix, attributes);
  return { url, arn: await arnOf(url), dlqUrl };
}

export async function deleteQueue(sqs: SQSClient, queue: TestQueue): Promise<void> {
  for (const url of [queue.url, queue.dlqUrl]) {
    if (url) await sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
  }
}

export interface OutgoingMessage {
  body: string;
  group?: string;
}

/** Sends messages in batches of 10, a few batches at a time; FIFO order kept per group. */
export async function sendMessages(
  sqs: SQSClient,
  url: string,
  messages: readonly (string | OutgoingMessage)[],
  parallel = 16,
): Promise<void> {
  const all = messages.map((m) => (typeof m === 'string' ? { body: m } : m));
  const chunks: OutgoingMessage[][] = [];
  for (let i = 0; i < all.length; i += 10) chunks.push(all.slice(i, i + 10));
  const fifo = url.endsWith('.fifo');
  // FIFO: one chunk at a time, so the queue sees each group's messages in order.
  const width = fifo ? 1 : parallel;
  let next = 0;
  const worker = async () => {
    for (let chunk = chunks[next++]; chunk; chunk = chunks[next++]) {
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: chunk.map((m, i) => ({
            Id: String(i),
            MessageBody: m.body,
            ...(fifo
              ? { MessageGroupId: m.group ?? 'g', MessageDeduplicationId: `${next}-${i}-${m.body}` }
              : {}),
          })),
        }),
      );
      if (out.Failed?.length)
        throw new Error(`SendMessageBatch failed: ${JSON.stringify(out.Failed)}`);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/** Visible and in-flight messages of a queue. */
export async function queueDepth(
  sqs: SQSClient,
  url: string,
): Promise<{ visible: number; inFlight: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

export interface SeenRecord {
  id: string;
  body: string;
  group: string;
  receiveCount: number;
}

/** What the function reported: every delivery, and concurrency measured inside the function. */
export interface Collector {
  url: string;
  /** Every batch in the order invokes started. */
  batches: SeenRecord[][];
  /** Batches running now / at most at once. */
  running: number;
  peak: number;
  /** Times a batch started while another running batch had a record of the same group. */
  groupOverlaps: number;
  /** Process ids of the environments that reported a batch. */
  pids: Set<number>;
  /** Deliveries per message id. */
  counts(): Map<string, number>;
  deliveries(): SeenRecord[];
  reset(): void;
  close(): Promise<void>;
}

export async function startCollector(): Promise<Collector> {
  const inFlightGroups = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const { records, pid } = JSON.parse(text || '{"records":[]}') as {
        records: SeenRecord[];
        pid?: number;
      };
      if (pid !== undefined) collector.pids.add(pid);
      const groups = new Set(records.map((r) => r.group).filter((g) => g !== ''));
      if (req.url === '/enter') {
        collector.batches.push(records);
        collector.running += 1;
        collector.peak = Math.max(collector.peak, collector.running);
        for (const g of groups) {
          if ((inFlightGroups.get(g) ?? 0) > 0) collector.groupOverlaps += 1;
          inFlightGroups.set(g, (inFlightGroups.get(g) ?? 0) + 1);
        }
      } else if (req.url === '/exit') {
        collector.running -= 1;
        for (const g of groups) inFlightGroups.set(g, (inFlightGroups.get(g) ?? 1) - 1);
      }
      res.end('ok');
    });
  });
  const collector: Collector = {
    url: '',
    batches: [],
    running: 0,
    peak: 0,
    groupOverlaps: 0,
    pids: new Set(),
    deliveries: () => collector.batches.flat(),
    counts() {
      const counts = new Map<string, number>();
      for (const r of collector.deliveries()) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
      return counts;
    },
    reset() {
      collector.batches = [];
      collector.peak = collector.running;
      collector.groupOverlaps = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  collector.url = `http://127.0.0.1:${await listenOnFreePort(server)}`;
  return collector;
}

export interface EngineYamlOptions {
  collectorUrl: string;
  storagePath: string;
  /** The `mappings:` list as YAML (indented by 2), or '' for none. */
  mappings?: string;
  holdMs?: number;
  concurrencyLimit?: number;
}

/** A config with one `recorder` function (sqs-recorder), the `local-sqs` connection, mappings. */
export function engineYaml(o: EngineYamlOptions): string {
  return `
concurrency: { limit: ${o.concurrencyLimit ?? 50} }
api: { host: 127.0.0.1, port: 0 }
storage: { path: ${JSON.stringify(o.storagePath)} }
logging: { level: warn }
connections:
  local-sqs:
    type: sqs
    endpoint: ${sqsEndpoint()}
    region: ${REGION}
    credentials: { accessKeyId: test, secretAccessKey: test }
functions:
  recorder:
    runtime: nodejs22.x
    handler: index.handler
    code: ${JSON.stringify(join(FUNCTIONS_DIR, 'sqs-recorder'))}
    timeout: 60
    environment:
      COLLECTOR_URL: ${JSON.stringify(o.collectorUrl)}
      HOLD_MS: '${o.holdMs ?? 0}'
${o.mappings ? `mappings:\n${o.mappings}` : ''}
`;
}

/** One mapping of `recorder` on `queueUrl`, as YAML list item; `extra` lines are indented by 4. */
/** `sourceExtra`: more keys of the source map, e.g. `retryBackoff: { baseSeconds: 5 }`. */
export function mappingYaml(
  name: string,
  queueUrl: string,
  extra: string[] = [],
  sourceExtra?: string,
): string {
  const more = sourceExtra === undefined ? '' : `, ${sourceExtra}`;
  return [
    `  - name: ${name}`,
    '    function: recorder',
    `    source: { connection: local-sqs, queueUrl: ${JSON.stringify(queueUrl)}${more} }`,
    ...extra.map((line) => `    ${line}`),
  ].join('\n');
}

/** A Lambda client for an engine's API (SigV4 is accepted and ignored; no SDK retries). */
export function lambdaClientFor(engine: Engine): LambdaClient {
  const address = engine.api?.address();
  if (!address) throw new Error('the engine has no API');
  return new LambdaClient({
    endpoint: `http://127.0.0.1:${address.port}`,
    region: REGION,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
}

/** The SQS client and function-call collector a suite shares. */
export interface SqsSuite {
  sqs: SQSClient;
  collector: Collector;
}

/** Registers the suite's SQS client and collector: made before all its tests, closed after. */
export function useSqsSuite(): SqsSuite {
  const suite = {} as SqsSuite;
  beforeAll(async () => {
    suite.sqs = sqsClient();
    suite.collector = await startCollector();
  });
  afterAll(async () => {
    await suite.collector?.close();
    suite.sqs?.destroy();
  });
  return suite;
}
