/**
 * The S3 trigger with the real MinIO: bucket notifications pushed by MinIO's webhook target into
 * a real engine (real Node functions, SQLite queue), and a failing function's events reaching a
 * real SQS (ElasticMQ) onFailure queue.
 */
import { receiveUpTo } from './sqs-receive.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfigFromString } from '../../src/app/config.ts';
import type { Engine } from '../../src/app/sluice-app.ts';
import { startTestEngine } from '../support/start-test-engine.ts';
import { encodeS3Key } from '../../src/triggers/s3-key.ts';
import { broker, uniqueName } from '../brokers/endpoints.ts';
import { MINIO_URL, startMinio } from '../brokers/minio.ts';
import { metricValue } from '../unit/fakes/async-harness.ts';
import {
  bucketWithWebhook,
  lambdaDecode,
  readRecorded,
  RECORDER,
  removeBucket,
  s3Client,
  uploadAll,
  type Upload,
} from './s3-trigger-harness.ts';
import { freePort } from '../support/ports.ts';

const OBJECTS = 500;
const local = broker('minio').mode === 'local' && broker('minio').url === MINIO_URL;

/** 500 uploads: 200 filtered out (prefix or suffix), 300 matching; spaces, `+`, `()`, unicode. */
function uploads(): Upload[] {
  return Array.from({ length: OBJECTS }, (_, i) => {
    const key = [
      `docs/report ${i}.jpg`,
      `images/photo ${i}.png`,
      `images/café ☕ ${i}.jpg`,
      `images/red flower (${i})+x.jpg`,
      `images/ünïcødé/日本語 ${i}.jpg`,
    ][i % 5]!;
    const plain = `images/plain-${i}.jpg`;
    return { key: i % 10 === 9 ? plain : key, body: Buffer.alloc((i % 97) + 1, 'x') };
  });
}

const matches = (key: string) => key.startsWith('images/') && key.endsWith('.jpg');

describe.skipIf(!local)('S3 trigger fed by the real MinIO', () => {
  let dir: string;
  let engine: Engine;
  let s3: S3Client;
  let sqs: SQSClient;
  let failureQueue: string;
  const buckets: string[] = [];
  const ids = { uploads: uniqueName('s3t_up').replace(/-/g, '_'), failing: '' };
  ids.failing = uniqueName('s3t_fail').replace(/-/g, '_');
  const tokens = { uploads: uniqueName('tok'), failing: uniqueName('tok') };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-s3t-'));
    const sqsBroker = broker('sqs');
    sqs = new SQSClient({
      endpoint: sqsBroker.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const created = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('s3t-fail') }));
    failureQueue = created.QueueUrl!;
    const port = await freePort();
    const config = loadConfigFromString(
      `
concurrency: { limit: 20 }
api: { host: 127.0.0.1, port: ${port} }
storage: { path: ${JSON.stringify(join(dir, 'state.db'))} }
connections:
  sqs:
    type: sqs
    endpoint: ${sqsBroker.url}
    region: us-east-1
    credentials: { accessKeyId: test, secretAccessKey: test }
functions:
  recorder:
    runtime: nodejs22.x
    handler: index.handler
    code: ${JSON.stringify(RECORDER)}
    timeout: 10
    reservedConcurrency: 6
    environment: { RECORD_FILE: ${JSON.stringify(join(dir, 'uploads.jsonl'))} }
  refuser:
    runtime: nodejs22.x
    handler: index.handler
    code: ${JSON.stringify(RECORDER)}
    reservedConcurrency: 2
    environment: { RECORD_FILE: ${JSON.stringify(join(dir, 'failing.jsonl'))}, FAIL: '1' }
    async:
      maximumRetryAttempts: 0
      onFailure: { destination: ${failureQueue}, connection: sqs }
triggers:
  - name: uploads
    type: s3
    function: recorder
    authToken: ${tokens.uploads}
    events: ['s3:ObjectCreated:*']
    filter: { prefix: images/, suffix: .jpg }
  - name: failing
    type: s3
    function: refuser
    authToken: ${tokens.failing}
`,
      { file: join(dir, 'sluice.yaml') },
    );
    engine = await startTestEngine(config);
    const endpoint = (name: string) => `http://127.0.0.1:${port}/triggers/s3/${name}`;
    const minio = await startMinio({
      webhooks: [
        { id: ids.uploads, endpoint: endpoint('uploads'), authToken: tokens.uploads },
        { id: ids.failing, endpoint: endpoint('failing'), authToken: tokens.failing },
      ],
    });
    s3 = s3Client(minio);
  });

  afterAll(async () => {
    await engine?.stop(10_000);
    for (const b of buckets) await removeBucket(s3, b).catch(() => undefined);
    s3?.destroy();
    if (failureQueue) await sqs.send(new DeleteQueueCommand({ QueueUrl: failureQueue }));
    sqs?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('invokes exactly the matching ones of 500 uploads, once each, with AWS-encoded keys and sizes', async () => {
    const bucket = uniqueName('s3t-up');
    buckets.push(bucket);
    await bucketWithWebhook(s3, bucket, ids.uploads);
    const all = uploads();
    const wanted = all.filter((u) => matches(u.key));
    expect(wanted).toHaveLength(300);
    await uploadAll(s3, bucket, all, 8);

    const file = join(dir, 'uploads.jsonl');
    await vi.waitFor(() => expect(readRecorded(file, bucket).length).toBe(wanted.length), {
      timeout: 90_000,
      interval: 250,
    });
    // Everything MinIO sent has been answered and every queued invoke has finished.
    const m = engine.metrics;
    await vi.waitFor(
      async () => {
        const received = await metricValue(m, 'sluice_trigger_received_records_total', {
          trigger: 'uploads',
        });
        expect(received).toBe(OBJECTS);
        expect(await engine.asyncRuntime!.queue.depth()).toBe(0);
      },
      { timeout: 30_000, interval: 250 },
    );
    const got = readRecorded(file, bucket);
    expect(got).toHaveLength(wanted.length);
    const byKey = new Map(got.map((r) => [lambdaDecode(r.key), r]));
    expect([...byKey.keys()].sort()).toEqual(wanted.map((u) => u.key).sort());
    for (const u of wanted) {
      const r = byKey.get(u.key)!;
      expect(r.key).toBe(encodeS3Key(u.key));
      expect(r.size).toBe(u.body.length);
      expect(r.eventName).toBe('ObjectCreated:Put');
    }
    expect(byKey.get('images/red flower (3)+x.jpg')?.key).toBe('images/red+flower+%283%29%2Bx.jpg');
    expect(await metricValue(m, 'sluice_trigger_matched_records_total')).toBe(wanted.length);
    expect(await metricValue(m, 'sluice_trigger_filtered_records_total')).toBe(
      OBJECTS - wanted.length,
    );

    // MinIO pushing one of them again (a retry after a lost 2xx) is acknowledged, not invoked.
    const again = got[0]!;
    const res = await fetch(`http://127.0.0.1:${engine.api!.address().port}/triggers/s3/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.uploads}` },
      body: JSON.stringify({
        EventName: 's3:ObjectCreated:Put',
        Records: [
          {
            eventVersion: '2.0',
            eventSource: 'minio:s3',
            eventTime: new Date().toISOString(),
            eventName: 's3:ObjectCreated:Put',
            s3: {
              bucket: { name: bucket },
              object: { key: again.key, size: again.size, sequencer: again.sequencer },
            },
          },
        ],
      }),
    });
    expect(await res.json()).toEqual({ queued: 0, duplicates: 1, filtered: 0 });
    expect(await metricValue(m, 'sluice_trigger_duplicate_records_total')).toBe(1);
  });

  it("sends a failing function's events to the SQS onFailure queue with the invocation record", async () => {
    const bucket = uniqueName('s3t-fail');
    buckets.push(bucket);
    await bucketWithWebhook(s3, bucket, ids.failing);
    const keys = Array.from({ length: 5 }, (_, i) => `in/bad object ${i}.bin`);
    await uploadAll(
      s3,
      bucket,
      keys.map((key) => ({ key, body: Buffer.from(key) })),
      5,
    );
    interface InvocationRecord {
      requestPayload: { Records: { s3: { object: { key: string } } }[] };
      responsePayload: { errorMessage: string };
    }
    const records = (await receiveUpTo(sqs, failureQueue, keys.length, 60)).map(
      (msg) => JSON.parse(msg.Body ?? '{}') as InvocationRecord,
    );
    expect(records).toHaveLength(keys.length);
    const got = records.map((r) => lambdaDecode(r.requestPayload.Records[0]!.s3.object.key));
    expect(got.sort()).toEqual([...keys].sort());
    for (const r of records) {
      expect(r).toMatchObject({
        version: '1.0',
        requestContext: {
          functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:refuser:$LATEST',
          condition: 'RetriesExhausted',
          approximateInvokeCount: 1,
        },
        requestPayload: {
          Records: [
            {
              eventSource: 'aws:s3',
              eventName: 'ObjectCreated:Put',
              s3: { bucket: { name: bucket } },
            },
          ],
        },
        responseContext: { statusCode: 200, functionError: 'Unhandled' },
        responsePayload: { errorType: 'Error' },
      });
      expect(r.responsePayload.errorMessage).toMatch(/^refusing in\/bad\+object\+\d\.bin$/);
    }
    expect(readRecorded(join(dir, 'failing.jsonl'), bucket)).toHaveLength(keys.length);
  });
});
