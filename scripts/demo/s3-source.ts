import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startMinio, webhookArn } from '../../test/brokers/minio.ts';
import type { BrokerEndpoint } from '../../test/brokers/types.ts';
import { metric, type DemoSource } from './types.ts';

const BUCKET = 'demo-uploads';
const TARGET = 'SLUICEDEMO';
const TOKEN = process.env.SLUICE_DEMO_S3_TOKEN ?? 'demo-s3-token';
const IMAGES = 120;
const OTHERS = 30;

function client(b: BrokerEndpoint | undefined): S3Client {
  return new S3Client({
    endpoint: b?.url,
    region: b?.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: {
      accessKeyId: b?.accessKeyId ?? 'minioadmin',
      secretAccessKey: b?.secretAccessKey ?? 'minioadmin',
    },
  });
}

/**
 * Uploads into a MinIO bucket whose notifications MinIO pushes to sluice's S3 trigger: the
 * `images/*.jpg` ones become asynchronous invokes of make-thumbnail, the rest are filtered out.
 */
export const s3Source: DemoSource = {
  label: 'S3 uploads',
  brokers: ['minio'],
  env: () => ({ SLUICE_DEMO_S3_TOKEN: TOKEN }),
  counts: (text) => ({
    records: metric(text, 'sluice_invocations_total', { function: 'make-thumbnail' }),
    batches: metric(text, 'sluice_invocations_total', { function: 'make-thumbnail' }),
    filtered: metric(text, 'sluice_trigger_filtered_records_total', { trigger: 'uploads' }),
  }),
  async prepare(brokers, apiPort) {
    // MinIO reads webhook targets at start: restart it with one pointing at the trigger. It queues
    // notifications while sluice is not up yet.
    const minio = await startMinio({
      webhooks: [
        {
          id: TARGET,
          endpoint: `http://127.0.0.1:${apiPort}/triggers/s3/uploads`,
          authToken: TOKEN,
          queue: true,
        },
      ],
    });
    brokers.minio = minio;
    const s3 = client(minio);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET })).catch((err: { name?: string }) => {
      if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
    });
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: BUCKET,
        NotificationConfiguration: {
          QueueConfigurations: [{ QueueArn: webhookArn(TARGET), Events: ['s3:ObjectCreated:*'] }],
        },
      }),
    );
    s3.destroy();
  },
  async send(brokers, onSent) {
    const s3 = client(brokers.minio);
    const keys = [
      ...Array.from({ length: IMAGES }, (_, i) => `images/photo ${i} été.jpg`),
      ...Array.from({ length: OTHERS }, (_, i) => `docs/notes-${i}.txt`),
    ];
    for (let i = 0; i < keys.length; i += 10) {
      await Promise.all(
        keys
          .slice(i, i + 10)
          .map((Key) =>
            s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: `demo object ${Key}` })),
          ),
      );
      onSent(Math.min(10, keys.length - i));
    }
    s3.destroy();
    return { sent: keys.length, expected: IMAGES };
  },
};
