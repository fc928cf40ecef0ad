import { createServer, type IncomingHttpHeaders } from 'node:http';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { broker, uniqueName } from '../brokers/endpoints.ts';
import { MINIO_URL, startMinio, webhookArn } from '../brokers/minio.ts';
import { listenOnFreePort } from '../support/ports.ts';

interface S3EventRecord {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string; size?: number } };
}

interface Received {
  headers: IncomingHttpHeaders;
  records: S3EventRecord[];
}

/** An HTTP server on 127.0.0.1 that records every JSON body POSTed to it. */
async function webhookReceiver(): Promise<{ url: string; received: Received[]; close(): void }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          Records?: S3EventRecord[];
        };
        received.push({ headers: req.headers, records: body.Records ?? [] });
      }
      res.end();
    });
  });
  const port = await listenOnFreePort(server);
  return { url: `http://127.0.0.1:${port}/minio-events`, received, close: () => server.close() };
}

describe('MinIO smoke', () => {
  it('delivers an s3:ObjectCreated:Put notification to a webhook target', async (ctx) => {
    const started = broker('minio');
    if (started.mode === 'container' || started.url !== MINIO_URL) {
      // Webhook targets are set when MinIO starts, which only our local launcher controls.
      ctx.skip(
        `webhook targets need the local MinIO launcher (got ${started.mode} ${started.url})`,
      );
    }

    const receiver = await webhookReceiver();
    onTestFinished(() => receiver.close());
    const targetId = 'smoke_webhook';
    const authToken = uniqueName('token');
    const minio = await startMinio({
      webhooks: [{ id: targetId, endpoint: receiver.url, authToken }],
    });

    const s3 = new S3Client({
      endpoint: minio.url,
      region: minio.region,
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKeyId!, secretAccessKey: minio.secretAccessKey! },
    });
    const bucket = uniqueName('smoke');
    const key = 'incoming/hello world.json';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    onTestFinished(async () => {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
      s3.destroy();
    });

    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          QueueConfigurations: [
            {
              QueueArn: webhookArn(targetId),
              Events: ['s3:ObjectCreated:*'],
              Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'incoming/' }] } },
            },
          ],
        },
      }),
    );
    const config = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    expect(config.QueueConfigurations?.map((q) => q.QueueArn)).toEqual([webhookArn(targetId)]);

    const body = JSON.stringify({ hello: 'world' });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));

    const delivery = await vi.waitFor(
      () => {
        const match = receiver.received.find((r) =>
          r.records.some((rec) => rec.s3.bucket.name === bucket),
        );
        if (!match) throw new Error('no notification for the bucket yet');
        return match;
      },
      { timeout: 30_000, interval: 100 },
    );
    expect(delivery.headers.authorization).toBe(`Bearer ${authToken}`);
    expect(delivery.records).toHaveLength(1);
    const [record] = delivery.records;
    expect(record?.eventName).toBe('s3:ObjectCreated:Put');
    expect(record?.s3.bucket.name).toBe(bucket);
    // S3 event records carry the key URL-encoded (form encoding: space as '+').
    expect(decodeURIComponent(record!.s3.object.key.replace(/\+/g, ' '))).toBe(key);
    expect(record?.s3.object.size).toBe(Buffer.byteLength(body));
  });
});
