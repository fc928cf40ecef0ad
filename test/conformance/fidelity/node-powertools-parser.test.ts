/**
 * #17 item 10 and "Powertools parser schemas in Node": functions that parse their event with
 * Powertools for AWS Lambda (TypeScript)'s parser — `KafkaSelfManagedEventSchema`, `SqsSchema` —
 * and fail on a parse error, behind real Kafka and SQS mappings (fixture:
 * test/fixtures/functions/powertools-parser-node). A tombstone's `"value": null` and header bytes
 * ≥ 0x80 (negative, Java's signed bytes) are what Lambda sends, and the parser's Kafka schema
 * rejects both — a Powertools limitation on Lambda too (docs/kafka.md): a separate case shows
 * that sluice sends Lambda's form, with Powertools' verdict beside it.
 */
import { join } from 'node:path';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type RunningEngine } from '../../integration/api-harness.ts';
import {
  createQueue,
  deleteQueue,
  queueDepth,
  sqsClient,
  type TestQueue,
} from '../../integration/sqs-mapping-harness.ts';
import { eventually } from '../../support/eventually.ts';
import { tempDir, type TempDir } from '../../support/temp.ts';
import {
  connectionsYaml,
  kafkaMappingYaml,
  kafkaTopic,
  handledAndCommitted,
  mappingOf,
  readJsonLines,
  type KafkaTopic,
} from './runtime-harness.ts';

const WAIT = { limitMs: 60_000, intervalMs: 250 };

describe('Powertools (TypeScript) parser inside functions behind real mappings', () => {
  let dir: TempDir;
  let sqs: SQSClient;
  let queue: TestQueue;
  let parsedTopic: KafkaTopic;
  let rawTopic: KafkaTopic;
  let running: RunningEngine;
  const file = (name: string) => join(dir.path, `${name}.jsonl`);

  /** The mapping of `fn` settled everything: its last result OK and `offset` committed. */
  async function committed(fn: string, topic: KafkaTopic, offset: number): Promise<void> {
    await handledAndCommitted(
      running.endpoint,
      fn,
      topic,
      offset,
      `${fn}: the batch handled and offset ${offset} committed`,
      WAIT,
    );
  }

  beforeAll(async () => {
    dir = tempDir('sluice-powertools-node-');
    sqs = sqsClient();
    queue = await createQueue(sqs);
    parsedTopic = await kafkaTopic('node-parser');
    rawTopic = await kafkaTopic('node-raw');
    const fn = (name: string, handler: string) => [
      `  ${name}:`,
      '    runtime: nodejs22.x',
      `    handler: index.${handler}`,
      '    code: powertools-parser-node',
      '    environment:',
      `      RECORD_FILE: ${JSON.stringify(file(name))}`,
    ];
    running = await startEngine(
      [
        'functions:',
        ...fn('node-kafka', 'kafka'),
        ...fn('node-sqs', 'sqs'),
        ...fn('node-raw', 'kafkaRaw'),
        ...connectionsYaml(),
        'mappings:',
        ...kafkaMappingYaml('node-kafka', parsedTopic),
        ...kafkaMappingYaml('node-raw', rawTopic),
        '  - name: node-sqs',
        '    function: node-sqs',
        `    source: { connection: sqs, queueUrl: ${JSON.stringify(queue.url)} }`,
      ].join('\n'),
      dir.path,
    );
  }, 600_000);

  afterAll(async () => {
    await running?.stop();
    if (queue) await deleteQueue(sqs, queue);
    sqs?.destroy();
    await parsedTopic?.cleanup();
    await rawTopic?.cleanup();
    dir?.cleanup();
  });

  it('KafkaSelfManagedEventSchema parses the Kafka event; the batch commits', async () => {
    await parsedTopic.send([
      { key: 'order-1', value: '{"id":1}', headers: { source: 'web', trace: 'abc' } },
      { value: 'no key' },
    ]);
    await committed('node-kafka', parsedTopic, 2);
    const lane = `${parsedTopic.topic}-0`;
    expect(readJsonLines(file('node-kafka'))).toEqual([
      {
        lane,
        offset: 0,
        key: 'order-1',
        value: '{"id":1}',
        headers: [{ source: 'web' }, { trace: 'abc' }],
      },
      { lane, offset: 1, value: 'no key', headers: [] },
    ]);
  });

  it('SqsSchema parses the SQS event; the messages are deleted', async () => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: 'plain' }));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: 'with attributes',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'order' } },
      }),
    );
    await eventually(
      async () => {
        expect(readJsonLines(file('node-sqs'))).toHaveLength(2);
        expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
        expect((await mappingOf(running.endpoint, 'node-sqs'))?.LastProcessingResult).toBe('OK');
      },
      'both messages parsed and deleted',
      WAIT,
    );
    const seen = readJsonLines<{ body: string; md5OfMessageAttributes: string | null }>(
      file('node-sqs'),
    );
    expect(seen.map((s) => [s.body, typeof s.md5OfMessageAttributes]).sort()).toEqual([
      ['plain', 'object'],
      ['with attributes', 'string'],
    ]);
    expect(seen.find((s) => s.body === 'with attributes')).toMatchObject({
      receiveCount: '1',
      messageAttributes: { kind: { dataType: 'String', stringValue: 'order' } },
    });
  });

  it("sends Lambda's form of a tombstone and of header bytes ≥ 0x80, which Powertools' schema rejects", async () => {
    await rawTopic.send([
      { key: 'gone', value: null },
      { key: 'k', value: 'v', headers: { name: 'é', raw: Buffer.from([0x7f, 0x80, 0xff]) } },
    ]);
    await committed('node-raw', rawTopic, 2);
    const seen = readJsonLines<{ record: Record<string, unknown>; powertools: string }>(
      file('node-raw'),
    );
    expect(seen.map((s) => s.record)).toEqual([
      expect.objectContaining({ offset: 0, key: 'Z29uZQ==', value: null, headers: [] }),
      expect.objectContaining({
        offset: 1,
        key: 'aw==',
        value: 'dg==',
        headers: [{ name: [-61, -87] }, { raw: [127, -128, -1] }],
      }),
    ]);
    // Powertools parser 2.x: `value: z.string()` refuses null; its header transform
    // (`String.fromCodePoint(...bytes)`) throws on a negative byte.
    expect(seen.map((s) => s.powertools)).toEqual(['rejected: ZodError', 'rejected: RangeError']);
  });
});
