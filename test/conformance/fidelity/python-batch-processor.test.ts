/**
 * The "BatchProcessor in Python" of #17's fidelity suite: Powertools for AWS Lambda (Python) 3.x
 * `BatchProcessor` + `process_partial_response` inside a function run by AWS's runtime interface
 * client (awslambdaric), behind real mappings with `ReportBatchItemFailures` — an SQS queue on
 * ElasticMQ and a Kafka topic on the real broker. The records it reports failed come back; the
 * others are deleted (SQS) or committed (Kafka). Fixture: test/fixtures/functions/powertools-python.
 */
import { join } from 'node:path';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePythonWithRic } from '../../fixtures/python.ts';
import { startEngine, type RunningEngine } from '../../integration/api-harness.ts';
import {
  createQueue,
  deleteQueue,
  queueDepth,
  sendMessages,
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
  readJsonLines,
  type KafkaTopic,
} from './runtime-harness.ts';

const WAIT = { limitMs: 90_000, intervalMs: 250 };

/** Receive counts per body, in delivery order. */
function receiveCountsByBody(
  seen: { body: string; receiveCount: number }[],
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const { body, receiveCount } of seen) (out[body] ??= []).push(receiveCount);
  return out;
}

describe('Powertools (Python) BatchProcessor behind real mappings', () => {
  let dir: TempDir;
  let sqs: SQSClient;
  let queue: TestQueue;
  let topic: KafkaTopic;
  let running: RunningEngine;
  let sqsFile: string;
  let kafkaFile: string;

  beforeAll(async () => {
    dir = tempDir('sluice-powertools-py-');
    sqsFile = join(dir.path, 'sqs.jsonl');
    kafkaFile = join(dir.path, 'kafka.jsonl');
    const python = await ensurePythonWithRic();
    if (!python)
      throw new Error(
        'python3 with awslambdaric and Powertools is needed (test/fixtures/python.ts)',
      );
    process.env.SLUICE_PYTHON = python;
    sqs = sqsClient();
    // Failed messages come back after the visibility timeout; a third receive moves one to the
    // dead-letter queue. The timeout is longer than the batching window (as AWS asks: records
    // wait in the window without a visibility heartbeat, and a handle that expired there is
    // stale by the time its batch succeeds — the successes would come back too).
    queue = await createQueue(sqs, { visibilityTimeoutS: 5, maxReceiveCount: 2 });
    topic = await kafkaTopic('py-batch');
    const fn = (name: string, handler: string, file: string) => [
      `  ${name}:`,
      '    runtime: python3.11',
      `    handler: app.${handler}`,
      '    code: powertools-python',
      '    environment:',
      `      RECORD_FILE: ${JSON.stringify(file)}`,
    ];
    running = await startEngine(
      [
        'functions:',
        ...fn('py-sqs', 'sqs_handler', sqsFile),
        ...fn('py-kafka', 'kafka_handler', kafkaFile),
        ...connectionsYaml(),
        'mappings:',
        '  - name: py-sqs',
        '    function: py-sqs',
        `    source: { connection: sqs, queueUrl: ${JSON.stringify(queue.url)} }`,
        '    batchSize: 10',
        '    maximumBatchingWindowInSeconds: 1',
        '    functionResponseTypes: [ReportBatchItemFailures]',
        ...kafkaMappingYaml('py-kafka', topic, [
          'functionResponseTypes: [ReportBatchItemFailures]',
        ]),
      ].join('\n'),
      dir.path,
    );
  }, 600_000);

  afterAll(async () => {
    await running?.stop();
    if (queue) await deleteQueue(sqs, queue);
    sqs?.destroy();
    await topic?.cleanup();
    dir?.cleanup();
  });

  it('SQS: reported records come back with receive count 2, the others are deleted', async () => {
    await sendMessages(sqs, queue.url, ['ok-1', 'ok-2', 'ok-3', 'fail-once-1', 'fail-always-1']);
    await eventually(
      async () => {
        expect(await queueDepth(sqs, queue.url)).toEqual({ visible: 0, inFlight: 0 });
        expect(await queueDepth(sqs, queue.dlqUrl!)).toEqual({ visible: 1, inFlight: 0 });
      },
      'the queue drained and the always-failing message in the dead-letter queue',
      WAIT,
    );
    expect(receiveCountsByBody(readJsonLines(sqsFile))).toEqual({
      'ok-1': [1],
      'ok-2': [1],
      'ok-3': [1],
      'fail-once-1': [1, 2],
      'fail-always-1': [1, 2],
    });
    const dead = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl, MaxNumberOfMessages: 10 }),
    );
    expect(dead.Messages?.map((m) => m.Body)).toEqual(['fail-always-1']);
  });

  it('Kafka: a reported record is retried from its offset, then all commit', async () => {
    await topic.send([
      { value: 'ok-0', headers: { name: 'é', raw: Buffer.from([0x00, 0x7f, 0x80, 0xff]) } },
      { value: 'fail-once-1' },
      { value: 'ok-2' },
    ]);
    await handledAndCommitted(
      running.endpoint,
      'py-kafka',
      topic,
      3,
      'the records handled by the BatchProcessor and committed',
      WAIT,
    );
    const seen = readJsonLines<{ offset: number; value: string; headers: Record<string, string> }>(
      kafkaFile,
    );
    const offsets = seen.map((s) => s.offset);
    // Offset 0 succeeded once; 1 failed, so it and what follows it come again.
    expect(offsets.filter((o) => o === 0)).toHaveLength(1);
    expect(offsets.filter((o) => o === 1)).toHaveLength(2);
    expect(offsets.lastIndexOf(2)).toBeGreaterThan(offsets.lastIndexOf(1));
    // Powertools decodes Lambda's signed header bytes back to the bytes sent.
    expect(seen[0]).toEqual({
      offset: 0,
      value: 'ok-0',
      headers: { name: Buffer.from('é').toString('hex'), raw: '007f80ff' },
    });
  });
});
