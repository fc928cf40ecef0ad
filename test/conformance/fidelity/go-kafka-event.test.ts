/**
 * #17 item 1, driven by a runtime no one here wrote: an aws-lambda-go function whose handler takes
 * `events.KafkaEvent` (built in the test set-up, test/fixtures/functions/kafka-event-go) behind a
 * real Kafka mapping on the real broker. aws-lambda-go reads header values as `[]int8`, so it
 * decodes only Java's signed bytes — what Lambda sends; unsigned bytes ≥ 0x80 failed the whole
 * event ("cannot unmarshal number 255 into … int8") and, with unlimited retries, stopped the
 * partition for good.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGoFunction } from '../../fixtures/build-go.ts';
import { startEngine, type RunningEngine } from '../../integration/api-harness.ts';
import { tempDir, type TempDir } from '../../support/temp.ts';
import {
  connectionsYaml,
  kafkaMappingYaml,
  kafkaTopic,
  handledAndCommitted,
  readJsonLines,
  type KafkaTopic,
} from './runtime-harness.ts';

/** One record as the Go handler decoded it (see the fixture's `seen`). */
interface SeenByGo {
  lane: string;
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: { key: string; text: string; bytes: number[]; signed: number[] }[];
}

describe('aws-lambda-go events.KafkaEvent behind a real Kafka mapping', () => {
  let dir: TempDir;
  let topic: KafkaTopic;
  let running: RunningEngine;
  let recordFile: string;

  beforeAll(async () => {
    dir = tempDir('sluice-go-kafka-');
    recordFile = join(dir.path, 'seen.jsonl');
    const codeDir = await buildGoFunction('kafka-event-go');
    topic = await kafkaTopic('go-kafka');
    running = await startEngine(
      [
        'functions:',
        '  go-kafka:',
        '    runtime: provided.al2023',
        `    code: ${JSON.stringify(codeDir)}`,
        '    environment:',
        `      RECORD_FILE: ${JSON.stringify(recordFile)}`,
        ...connectionsYaml(),
        'mappings:',
        ...kafkaMappingYaml('go-kafka', topic),
      ].join('\n'),
      dir.path,
    );
  }, 600_000);

  afterAll(async () => {
    await running?.stop();
    await topic?.cleanup();
    dir?.cleanup();
  });

  it('decodes header bytes ≥ 0x80 as Java signed bytes and a tombstone, and the batch commits', async () => {
    await topic.send([
      {
        key: 'k1',
        value: 'v1',
        headers: { name: 'é', raw: Buffer.from([0x00, 0x7f, 0x80, 0xff]) },
      },
      { key: 'gone', value: null },
    ]);
    // The batch settled: the handler succeeded (LastProcessingResult OK) and the offset after
    // both records is committed. A failing decode shows here as the mapping's last error.
    await handledAndCommitted(
      running.endpoint,
      'go-kafka',
      topic,
      2,
      'the batch handled by aws-lambda-go and its offset committed',
      { limitMs: 60_000, intervalMs: 250 },
    );
    const seen = readJsonLines<SeenByGo>(recordFile);
    expect(seen).toEqual([
      {
        lane: `${topic.topic}-0`,
        topic: topic.topic,
        partition: 0,
        offset: 0,
        key: 'k1',
        value: 'v1',
        headers: [
          { key: 'name', text: 'é', bytes: [0xc3, 0xa9], signed: [-61, -87] },
          {
            key: 'raw',
            text: '\u0000\u007f\ufffd\ufffd',
            bytes: [0, 127, 128, 255],
            signed: [0, 127, -128, -1],
          },
        ],
      },
      // aws-lambda-go's Value is a string: Lambda's `"value": null` decodes to "".
      {
        lane: `${topic.topic}-0`,
        topic: topic.topic,
        partition: 0,
        offset: 1,
        key: 'gone',
        value: '',
        headers: [],
      },
    ]);
  });
});
