import { describe, expect, it } from 'vitest';
import {
  deadLetterRoute,
  decideFailures,
  defaultManagementUrl,
  failureRecord,
  parkingQueueName,
  parseQueueInfo,
  planAcks,
  retryMethod,
  toSourceRecord,
  translateRmqError,
  vhostUrl,
} from '../../connectors/rabbitmq/index.ts';
import { identifyRmqItem } from '../../connectors/rabbitmq/rabbitmq-bundle.ts';

const record = (failuresBefore: number, tag = 1) =>
  toSourceRecord(
    {
      content: Buffer.from('x'),
      fields: { deliveryTag: tag, redelivered: failuresBefore > 0 },
      properties: { headers: { 'x-sluice-delivery-count': failuresBefore } },
    },
    { session: 1, lane: '', nowMs: 0 },
  );

describe('multiple-ack planning', () => {
  it('acks the run from the lowest outstanding tag with one frame, the rest one by one', () => {
    expect(planAcks([1, 2, 3, 4, 5], new Set([1, 2, 3, 5]))).toEqual({ upTo: 3, singles: [5] });
    expect(planAcks([1, 2, 3], new Set([2, 3]))).toEqual({ upTo: undefined, singles: [2, 3] });
    expect(planAcks([4, 5], new Set([4]))).toEqual({ upTo: undefined, singles: [4] });
  });

  it('never settles a tag that is not outstanding (no "unknown delivery tag")', () => {
    expect(planAcks([7, 8], new Set([1, 2, 7, 8]))).toEqual({ upTo: 8, singles: [] });
    expect(planAcks([], new Set([1]))).toEqual({ upTo: undefined, singles: [] });
  });
});

describe('bounded redelivery', () => {
  it('drops a record once it has failed 1 + maximumRetryAttempts deliveries', () => {
    const fresh = record(0, 1);
    const third = record(2, 2);
    const out = decideFailures([fresh, third], 2);
    expect(out.failed).toEqual([fresh]);
    expect(out.dropped).toEqual([
      expect.objectContaining({ record: third, reason: 'RetriesExhausted' }),
    ]);
    expect(decideFailures([record(500)], Number.POSITIVE_INFINITY).failed).toHaveLength(1);
    expect(decideFailures([record(0)], 0).dropped).toHaveLength(1);
  });

  it('requeues in place unless a classic queue must carry the count', () => {
    const finite = { maximumRetryAttempts: 3, hasQuorumCount: false };
    expect(retryMethod({ ...finite, queueType: 'classic' })).toBe('republish');
    expect(retryMethod({ ...finite, queueType: 'unknown' })).toBe('republish');
    expect(retryMethod({ ...finite, queueType: 'quorum' })).toBe('requeue');
    expect(retryMethod({ ...finite, queueType: 'unknown', hasQuorumCount: true })).toBe('requeue');
    expect(
      retryMethod({ maximumRetryAttempts: Infinity, queueType: 'classic', hasQuorumCount: false }),
    ).toBe('requeue');
  });

  it('dead-letters to the DLX, else the destination, else the parking queue', () => {
    expect(deadLetterRoute({ queueHasDlx: true, hasDestination: true })).toBe('dlx');
    expect(deadLetterRoute({ queueHasDlx: false, hasDestination: true })).toBe('destination');
    expect(deadLetterRoute({ queueHasDlx: false, hasDestination: false })).toBe('parking');
    expect(parkingQueueName('images')).toBe('images.sluice-dead-letter');
  });

  it('builds an invocation-record style failure body with the one-record payload', () => {
    const body = failureRecord({
      record: record(3),
      reason: 'RetriesExhausted',
      detail: 'd',
      functionArn: 'arn:fn',
      eventSourceArn: 'arn:mq',
      queue: 'q',
      virtualHost: '/',
      nowMs: 0,
      payload: { eventSource: 'aws:rmq' },
    });
    expect(body).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 4 },
      version: '1.0',
      timestamp: '1970-01-01T00:00:00.000Z',
      RmqMessageInfo: { queue: 'q', virtualHost: '/', reason: 'RetriesExhausted' },
      payload: { eventSource: 'aws:rmq' },
    });
  });

  it('reads itemIdentifier as a messageId string or a delivery tag number', () => {
    expect(identifyRmqItem('m-1')).toBe('m-1');
    expect(identifyRmqItem(12)).toBe('12');
    expect(identifyRmqItem('')).toBeUndefined();
    expect(identifyRmqItem(1.5)).toBeUndefined();
    expect(identifyRmqItem(null)).toBeUndefined();
  });
});

describe('queue info and URLs', () => {
  it('reads type and DLX from arguments or policy', () => {
    expect(
      parseQueueInfo({
        type: 'quorum',
        arguments: { 'x-dead-letter-exchange': 'dlx' },
        messages_ready: 3,
      }),
    ).toEqual({ type: 'quorum', deadLetterExchange: 'dlx', messagesReady: 3 });
    expect(
      parseQueueInfo({
        type: 'classic',
        arguments: {},
        effective_policy_definition: { 'dead-letter-exchange': '' },
      }),
    ).toMatchObject({ deadLetterExchange: '' });
    expect(parseQueueInfo({ type: 'classic', effective_policy_definition: [] })).toMatchObject({
      deadLetterExchange: undefined,
    });
  });

  it('derives the management URL (port + 10000) and puts the vhost in the AMQP URL', () => {
    expect(defaultManagementUrl('amqp://u:p@h:5682')).toBe('http://u:p@h:15682/');
    expect(defaultManagementUrl('amqps://h')).toBe('https://guest:guest@h:15671/');
    expect(vhostUrl('amqp://u:p@h:5672/', '/')).toBe('amqp://u:p@h:5672/%2F');
    expect(vhostUrl('amqp://h:5672/old', 'prod')).toBe('amqp://h:5672/prod');
  });
});

describe('AMQP error translation', () => {
  const where = { queue: 'q', virtualHost: '/', operation: 'subscribe' };
  it('maps reply codes to Lambda state reasons, retryable, without credentials', () => {
    const auth = translateRmqError(
      new Error('Handshake terminated by server: 403 (ACCESS-REFUSED) at amqp://u:secret@h'),
      where,
    );
    expect(auth.health.reason).toBe('EVENT_SOURCE_AUTHN_ERROR');
    expect(auth.error.canRetry).toBe(true);
    expect(auth.error.message).not.toContain('secret');
    const missing = translateRmqError(
      Object.assign(new Error("NOT_FOUND - no queue 'q'"), { code: 404 }),
      where,
    );
    expect(missing.health.reason).toBe('EVENT_SOURCE_NOT_FOUND');
    const refused = translateRmqError(
      Object.assign(new Error('x'), { code: 'ECONNREFUSED' }),
      where,
    );
    expect(refused.health.reason).toBe('EVENT_SOURCE_UNREACHABLE');
  });
});
