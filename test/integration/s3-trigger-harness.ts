/**
 * Helpers for the S3 trigger integration tests: free ports, an S3 client for the real MinIO,
 * buckets wired to a webhook target, bounded-concurrency uploads and the recorder's output.
 */
import { existsSync, readFileSync } from 'node:fs';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { BrokerEndpoint } from '../brokers/types.ts';
import { webhookArn } from '../brokers/minio.ts';

export const RECORDER = new URL('../fixtures/functions/s3-recorder/', import.meta.url).pathname;

/** A port free now on 127.0.0.1 (MinIO's webhook endpoint is fixed before sluice starts). */
export function s3Client(minio: BrokerEndpoint): S3Client {
  return new S3Client({
    endpoint: minio.url,
    region: minio.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKeyId!, secretAccessKey: minio.secretAccessKey! },
  });
}

/** Creates a bucket whose ObjectCreated events go to the webhook target `targetId`. */
export async function bucketWithWebhook(
  s3: S3Client,
  bucket: string,
  targetId: string,
): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        QueueConfigurations: [{ QueueArn: webhookArn(targetId), Events: ['s3:ObjectCreated:*'] }],
      },
    }),
  );
}

/** Deletes every object and the bucket (deletes send no events: only ObjectCreated is wired). */
export async function removeBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

export interface Upload {
  key: string;
  body: Buffer;
}

/** Uploads with at most `concurrency` requests in flight; `afterEach` sees the count done. */
export async function uploadAll(
  s3: S3Client,
  bucket: string,
  uploads: readonly Upload[],
  concurrency: number,
  afterEach: (done: number) => void | Promise<void> = () => undefined,
): Promise<void> {
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < uploads.length) {
      const u = uploads[next++]!;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: u.key, Body: u.body }));
      await afterEach(++done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/** One line the recorder function wrote. */
export interface Recorded {
  bucket: string;
  key: string;
  size: number;
  sequencer: string;
  eventName: string;
}

export function readRecorded(file: string, bucket?: string): Recorded[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Recorded)
    .filter((r) => bucket === undefined || r.bucket === bucket);
}

/** How a function written for Lambda decodes `s3.object.key`. */
export const lambdaDecode = (key: string): string => decodeURIComponent(key.replace(/\+/g, ' '));
