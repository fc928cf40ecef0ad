import { describe, expect, it } from 'vitest';
import { eventMatches, mismatchReason } from '../../src/triggers/s3-event-match.ts';
import { decodeS3Key, encodeS3Key } from '../../src/triggers/s3-key.ts';
import { lambdaS3Event, recordIdentity } from '../../src/triggers/s3-lambda-event.ts';
import {
  parseS3Notification,
  S3NotificationError,
  type S3Record,
} from '../../src/triggers/s3-notification.ts';

/** The reference S3 notification (lambda-esm.md §4), with a key that needs encoding. */
const awsRecord = () => ({
  eventVersion: '2.1',
  eventSource: 'aws:s3',
  awsRegion: 'us-west-2',
  eventTime: '1970-01-01T00:00:00.000Z',
  eventName: 'ObjectCreated:Put',
  userIdentity: { principalId: 'AIDAJDPLRKLG7UEXAMPLE' },
  requestParameters: { sourceIPAddress: '127.0.0.1' },
  responseElements: {
    'x-amz-request-id': 'C3D13FE58DE4C810',
    'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
  },
  s3: {
    s3SchemaVersion: '1.0',
    configurationId: 'testConfigRule',
    bucket: {
      name: 'mybucket',
      ownerIdentity: { principalId: 'A3NL1KOZZKExample' },
      arn: 'arn:aws:s3:::mybucket',
    },
    object: {
      key: 'images/red+flower.jpg',
      size: 1024,
      eTag: 'd41d8cd98f00b204e9800998ecf8427e',
      versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
      sequencer: '0055AED6DCD90281E5',
    },
  },
});

/** What MinIO's webhook target POSTs (eventVersion 2.0, `s3:` names, QueryEscape'd key). */
const minioBody = (key = 'images%2Fcaf%C3%A9+%E2%98%95+%281%29.jpg') => ({
  EventName: 's3:ObjectCreated:Put',
  Key: `uploads/${key}`,
  Records: [
    {
      eventVersion: '2.0',
      eventSource: 'minio:s3',
      awsRegion: '',
      eventTime: '2026-02-20T10:00:00.123Z',
      eventName: 's3:ObjectCreated:Put',
      userIdentity: { principalId: 'minioadmin' },
      requestParameters: { principalId: 'minioadmin', region: '', sourceIPAddress: '127.0.0.1' },
      responseElements: {
        'x-amz-id-2': 'dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8',
        'x-amz-request-id': '18A6D2C6A3D4F2B1',
        'x-minio-deployment-id': '4fd7…',
        'x-minio-origin-endpoint': 'http://127.0.0.1:19000',
      },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'Config',
        bucket: {
          name: 'uploads',
          ownerIdentity: { principalId: 'minioadmin' },
          arn: 'arn:aws:s3:::uploads',
        },
        object: {
          key,
          size: 42,
          eTag: '9b2cf535f27731c974343645a3985328',
          contentType: 'image/jpeg',
          userMetadata: { 'content-type': 'image/jpeg' },
          versionId: '',
          sequencer: '18A6D2C6A3E0C9D7',
        },
      },
      source: { host: '127.0.0.1', port: '', userAgent: 'aws-sdk-js/3' },
    },
  ],
});

function records(body: unknown): S3Record[] {
  const n = parseS3Notification(body);
  if (n.kind !== 'records') throw new Error('expected records');
  return n.records;
}

function parseError(body: unknown): string {
  try {
    parseS3Notification(body);
  } catch (err) {
    expect(err).toBeInstanceOf(S3NotificationError);
    return (err as Error).message;
  }
  throw new Error('expected a parse error');
}

describe('S3 key encoding', () => {
  it("encodes keys in AWS's form: space as +, / kept, everything else percent-encoded UTF-8", () => {
    expect(encodeS3Key('red flower.jpg')).toBe('red+flower.jpg');
    expect(encodeS3Key('images/a+b (1)!~.jpg')).toBe('images/a%2Bb+%281%29%21%7E.jpg');
    expect(encodeS3Key('café/☕.jpg')).toBe('caf%C3%A9/%E2%98%95.jpg');
    expect(encodeS3Key('safe-_.*key')).toBe('safe-_.*key');
  });

  it('decodes both AWS and MinIO (Go QueryEscape) encodings to the same key', () => {
    const key = 'images/café ☕ (1)+x~.jpg';
    expect(decodeS3Key(encodeS3Key(key))).toBe(key);
    expect(decodeS3Key('images%2Fcaf%C3%A9+%E2%98%95+%281%29%2Bx~.jpg')).toBe(key);
  });
});

describe('parseS3Notification', () => {
  it("rebuilds AWS's own record unchanged", () => {
    const [record] = records({ Records: [awsRecord()] });
    expect(lambdaS3Event(record!, 'us-east-1')).toEqual({ Records: [awsRecord()] });
  });

  it("turns MinIO's webhook shape into AWS's: no s3: prefix, AWS key form, aws:s3, a region", () => {
    const [record] = records(minioBody());
    expect(record?.object.key).toBe('images/café ☕ (1).jpg');
    const event = lambdaS3Event(record!, 'eu-west-1') as { Records: Record<string, unknown>[] };
    expect(event.Records[0]).toEqual({
      eventVersion: '2.0',
      eventSource: 'aws:s3',
      awsRegion: 'eu-west-1',
      eventTime: '2026-02-20T10:00:00.123Z',
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: 'minioadmin' },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: {
        'x-amz-id-2': 'dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8',
        'x-amz-request-id': '18A6D2C6A3D4F2B1',
      },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'Config',
        bucket: {
          name: 'uploads',
          ownerIdentity: { principalId: 'minioadmin' },
          arn: 'arn:aws:s3:::uploads',
        },
        // No versionId: MinIO sends "" for an unversioned bucket, AWS leaves it out.
        object: {
          key: 'images/caf%C3%A9+%E2%98%95+%281%29.jpg',
          size: 42,
          eTag: '9b2cf535f27731c974343645a3985328',
          sequencer: '18A6D2C6A3E0C9D7',
        },
      },
    });
  });

  it('keeps glacierEventData for restore events and allows removals without size or eTag', () => {
    const r = awsRecord() as Record<string, unknown> & ReturnType<typeof awsRecord>;
    r.eventName = 'ObjectRestore:Completed';
    r.glacierEventData = { restoreEventData: { lifecycleRestorationExpiryTime: 'x' } };
    const removed = awsRecord();
    removed.eventName = 'ObjectRemoved:Delete';
    delete (removed.s3.object as Partial<typeof removed.s3.object>).size;
    delete (removed.s3.object as Partial<typeof removed.s3.object>).eTag;
    const [restore, remove] = records({ Records: [r, removed] });
    const out = lambdaS3Event(restore!, 'x') as { Records: Record<string, unknown>[] };
    expect(out.Records[0]?.glacierEventData).toEqual(r.glacierEventData);
    expect(remove?.object).toEqual({
      key: 'images/red flower.jpg',
      versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
      sequencer: '0055AED6DCD90281E5',
    });
  });

  it("recognises AWS's s3:TestEvent", () => {
    expect(
      parseS3Notification({
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: '2026-01-01T00:00:00.000Z',
        Bucket: 'mybucket',
        RequestId: 'R',
        HostId: 'H',
      }),
    ).toEqual({ kind: 'test' });
  });

  it('names what is wrong in a malformed body', () => {
    expect(parseError([1])).toBe('body must be a JSON object');
    expect(parseError({ hello: 1 })).toMatch(/must have a Records array/);
    expect(parseError({ Records: {} })).toBe('Records must be an array');
    expect(parseError({ Records: [awsRecord(), 'x'] })).toBe('Records[1] must be an object');
    const old = { ...awsRecord(), eventVersion: '1.0' };
    expect(parseError({ Records: [old] })).toBe('Records[0].eventVersion must be 2.x, got "1.0"');
    const noKey = awsRecord();
    (noKey.s3.object as { key?: string }).key = undefined;
    expect(parseError({ Records: [noKey] })).toBe(
      'Records[0].s3.object.key must be a non-empty string, got nothing',
    );
    const badKey = awsRecord();
    badKey.s3.object.key = 'a%zz';
    expect(parseError({ Records: [badKey] })).toMatch(
      /^Records\[0\]\.s3\.object\.key is not valid URL encoding/,
    );
    const badSize = awsRecord();
    (badSize.s3.object as { size: unknown }).size = -1;
    expect(parseError({ Records: [badSize] })).toBe(
      'Records[0].s3.object.size must be a non-negative integer, got -1',
    );
    const badTime = { ...awsRecord(), eventTime: 'yesterday' };
    expect(parseError({ Records: [badTime] })).toMatch(/eventTime must be an ISO 8601 time/);
    expect(parseError({ Type: 'Notification', TopicArn: 'arn:aws:sns:x', Message: '{}' })).toMatch(
      /SNS messages are not supported/,
    );
  });
});

describe('recordIdentity', () => {
  it('is the same for the same record whatever the key encoding, and scoped by trigger', () => {
    const [minio] = records(minioBody('images%2Fa+b.jpg'));
    const [aws] = records(minioBody('images/a+b.jpg'));
    expect(recordIdentity('t', minio!)).toBe(recordIdentity('t', aws!));
    expect(recordIdentity('t', minio!)).not.toBe(recordIdentity('other', minio!));
  });

  it('differs for another sequencer, version or event of the same key', () => {
    const [base] = records({ Records: [awsRecord()] });
    const id = recordIdentity('t', base!);
    const seq = { ...base!, object: { ...base!.object, sequencer: '0055AED6DCD90281E6' } };
    const ver = { ...base!, object: { ...base!.object, versionId: 'v2' } };
    const del = { ...base!, eventName: 's3:ObjectRemoved:Delete' };
    for (const other of [seq, ver, del]) expect(recordIdentity('t', other)).not.toBe(id);
  });
});

describe('S3 event matching', () => {
  it("matches S3's event-type patterns", () => {
    expect(eventMatches('s3:*', 's3:ObjectRemoved:Delete')).toBe(true);
    expect(eventMatches('s3:ObjectCreated:*', 's3:ObjectCreated:CompleteMultipartUpload')).toBe(
      true,
    );
    expect(eventMatches('s3:ObjectCreated:*', 'ObjectCreated:Put')).toBe(true);
    expect(eventMatches('s3:ObjectCreated:*', 's3:ObjectCreatedX:Put')).toBe(false);
    expect(eventMatches('s3:ObjectCreated:*', 's3:ObjectRemoved:Delete')).toBe(false);
    expect(eventMatches('s3:ObjectCreated:Put', 's3:ObjectCreated:Put')).toBe(true);
    expect(eventMatches('s3:ObjectCreated:Put', 's3:ObjectCreated:Post')).toBe(false);
    expect(eventMatches('s3:ObjectCreated:Put', 's3:objectcreated:put')).toBe(false);
    expect(eventMatches('s3:ObjectRemoved', 's3:ObjectRemoved:DeleteMarkerCreated')).toBe(true);
  });

  it('filters on the decoded key: event first, then prefix, then suffix', () => {
    const rules = { events: ['s3:ObjectCreated:*'], filter: { prefix: 'images/', suffix: '.jpg' } };
    expect(mismatchReason(rules, 's3:ObjectCreated:Put', 'images/red flower.jpg')).toBeUndefined();
    expect(mismatchReason(rules, 's3:ObjectRemoved:Delete', 'images/a.jpg')).toBe('event');
    expect(mismatchReason(rules, 's3:ObjectCreated:Put', 'docs/a.jpg')).toBe('prefix');
    expect(mismatchReason(rules, 's3:ObjectCreated:Put', 'images/a.png')).toBe('suffix');
    const all = { events: ['s3:*'], filter: { prefix: '', suffix: '' } };
    expect(mismatchReason(all, 's3:ObjectRemoved:Delete', 'anything')).toBeUndefined();
  });
});
