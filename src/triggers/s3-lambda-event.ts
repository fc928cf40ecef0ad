/**
 * What the function receives for one record: Lambda's S3 event in AWS's exact shape, whatever
 * shape the pusher used — `eventSource` `aws:s3`, `eventName` without the `s3:` prefix, the key
 * in AWS's URL-encoded form. And the record's identity, which deduplicates repeated pushes. Pure.
 */
import { createHash } from 'node:crypto';
import { s3BucketArn } from '../lambda/arn.ts';
import { encodeS3Key } from './s3-key.ts';
import type { S3Record } from './s3-notification.ts';

/** The one-record `{"Records":[…]}` payload of the invocation. */
export function lambdaS3Event(record: S3Record, defaultRegion: string): Record<string, unknown> {
  const { bucket, object } = record;
  return {
    Records: [
      {
        eventVersion: record.eventVersion,
        eventSource: 'aws:s3',
        awsRegion: record.awsRegion === '' ? defaultRegion : record.awsRegion,
        eventTime: record.eventTime,
        eventName: record.eventName.slice('s3:'.length),
        userIdentity: { principalId: record.principalId },
        requestParameters: { sourceIPAddress: record.sourceIPAddress },
        responseElements: record.responseElements,
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: record.configurationId,
          bucket: {
            name: bucket.name,
            ownerIdentity: { principalId: bucket.ownerPrincipalId },
            arn: bucket.arn ?? s3BucketArn(bucket.name),
          },
          object: {
            key: encodeS3Key(object.key),
            ...(object.size === undefined ? {} : { size: object.size }),
            ...(object.eTag === undefined ? {} : { eTag: object.eTag }),
            ...(object.versionId === undefined ? {} : { versionId: object.versionId }),
            ...(object.sequencer === undefined ? {} : { sequencer: object.sequencer }),
          },
        },
        ...record.extras,
      },
    ],
  };
}

/**
 * The idempotency key of a record for one trigger: S3 identifies an event on an object by its
 * sequencer (and version), so bucket + decoded key + event + sequencer + versionId; a sender
 * without either falls back to event time and eTag. Scoped by trigger (two triggers each invoke
 * their own function for the same record) and hashed to bound its length.
 */
export function recordIdentity(triggerName: string, record: S3Record): string {
  const { bucket, object } = record;
  const fallback =
    object.sequencer === undefined && object.versionId === undefined
      ? [record.eventTime, object.eTag ?? '', object.size ?? '']
      : [];
  const parts = [
    bucket.name,
    object.key,
    record.eventName,
    object.sequencer ?? '',
    object.versionId ?? '',
    ...fallback,
  ];
  const digest = createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
  return `trigger:${triggerName}:${digest}`;
}
