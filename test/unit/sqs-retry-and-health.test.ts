import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { failedVisibilityEntries } from '../../connectors/sqs/sqs-connector.ts';
import { noAnswerHealth, SqsReceiver } from '../../connectors/sqs/sqs-receiver.ts';
import {
  exponentialBackoff,
  failedRecordVisibilitySeconds,
  receiveTimeoutMs,
} from '../../connectors/sqs/sqs-visibility.ts';
import type { SourceRecord } from '../../src/connectors/types.ts';
import { isSluiceError } from '../../src/errors.ts';

const QUEUE = 'http://sqs.local:9324/000000000000/orders';

function record(id: string, receiveCount: number): SourceRecord {
  return {
    id,
    lane: '',
    event: {},
    sizeBytes: 2,
    timestampMs: 0,
    handle: { receiptHandle: `rh-${id}`, receiveCount },
  };
}

describe('SQS settle decision for failed records', () => {
  it('leaves failed records alone by default: they come back after the visibility timeout', () => {
    expect(failedRecordVisibilitySeconds(undefined, 1)).toBeUndefined();
    expect(failedVisibilityEntries([record('a', 1), record('b', 3)], undefined)).toEqual([]);
  });

  it('0 is the opt-in for "visible again at once"', () => {
    expect(failedVisibilityEntries([record('a', 2)], 0)).toEqual([
      { receiptHandle: 'rh-a', visibilitySeconds: 0 },
    ]);
  });

  it('source.retryBackoff sets each record’s visibility from its receive count', () => {
    const backoff = exponentialBackoff(5000, 60_000);
    expect(failedVisibilityEntries([record('a', 1), record('b', 3)], backoff)).toEqual([
      { receiptHandle: 'rh-a', visibilitySeconds: 5 },
      { receiptHandle: 'rh-b', visibilitySeconds: 20 },
    ]);
  });
});

describe('SQS receive timeouts and the health they imply', () => {
  it('a long poll may take its wait plus the margin; a short poll the request timeout', () => {
    const timeouts = { receiveTimeoutMarginMs: 10_000, requestTimeoutMs: 5_000 };
    expect(receiveTimeoutMs(20, timeouts)).toBe(30_000);
    expect(receiveTimeoutMs(1, timeouts)).toBe(11_000);
    expect(receiveTimeoutMs(0, timeouts)).toBe(5_000);
  });

  it('no answer reads as EVENT_SOURCE_UNREACHABLE naming the queue, the wait and the last poll', () => {
    expect(
      noAnswerHealth({ queueUrl: QUEUE, waitedMs: 31_000, timeoutMs: 30_000, lastAnswerMs: 0 }),
    ).toEqual({
      ok: false,
      reason: 'EVENT_SOURCE_UNREACHABLE',
      detail: `no answer from ${QUEUE} for 31 s (ReceiveMessage timeout 30 s; last successful poll at 1970-01-01T00:00:00.000Z)`,
    });
  });

  /** A client whose ReceiveMessage answers only when told to, and honours the abort signal. */
  function fakeClient() {
    const waiting: { answer: (messages: unknown[]) => void }[] = [];
    const client = {
      send: (_command: unknown, options: { abortSignal: AbortSignal }) =>
        new Promise((resolve, reject) => {
          options.abortSignal.addEventListener('abort', () =>
            reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })),
          );
          waiting.push({ answer: (Messages) => resolve({ Messages }) });
        }),
    } as unknown as SQSClient;
    return { client, waiting };
  }

  function receiver(client: SQSClient, clock: { nowMs: number }, released: string[][] = []) {
    return new SqsReceiver({
      client,
      queueUrl: QUEUE,
      receiveTimeoutMarginMs: 10_000,
      requestTimeoutMs: 20, // short polls below time out quickly
      now: () => clock.nowMs,
      release: async (handles) => void released.push(handles),
    });
  }

  it('is not ok once a receive waits past its timeout, and ok again after the next answer', async () => {
    const { client, waiting } = fakeClient();
    const clock = { nowMs: 1_000_000 };
    const r = receiver(client, clock);
    const first = r.receive(10, 20_000);
    expect(r.health()).toBeUndefined();
    clock.nowMs += 30_001; // past 20 s + 10 s, before the timer fires
    expect(r.health()).toMatchObject({ ok: false, reason: 'EVENT_SOURCE_UNREACHABLE' });
    waiting[0]?.answer([]);
    await first.messages;
    expect(r.health()).toBeUndefined();
  });

  it('a receive that times out rejects retryably and leaves the health not ok until an answer', async () => {
    const { client, waiting } = fakeClient();
    const clock = { nowMs: 0 };
    const r = receiver(client, clock);
    const error = await r.receive(10, 0).messages.catch((e: unknown) => e);
    expect(isSluiceError(error, 'CONNECTOR')).toBe(true);
    expect(error).toMatchObject({ canRetry: true });
    expect(r.health()?.detail).toContain(`no answer from ${QUEUE}`);
    const next = r.receive(10, 1000);
    waiting[1]?.answer([]);
    await next.messages;
    expect(r.health()).toBeUndefined();
  });

  it('a given-up receive releases what it brings within the grace and is cut after it', async () => {
    const { client, waiting } = fakeClient();
    const released: string[][] = [];
    const r = receiver(client, { nowMs: 0 }, released);
    const late = r.receive(10, 20_000);
    late.giveUp();
    waiting[0]?.answer([{ MessageId: 'm', ReceiptHandle: 'rh-m' }]);
    await r.drain();
    expect(released).toEqual([['rh-m']]);

    const cut = r.receive(10, 20_000);
    cut.giveUp();
    await r.drain(); // resolves only because the grace cut the poll (it never answers)
    await expect(cut.messages).rejects.toMatchObject({ name: 'AbortError' });
    expect(r.health()).toBeUndefined(); // cutting our own poll says nothing about the source
  });

  it('a given-up receive whose release fails leaves no unhandled rejection behind', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { client, waiting } = fakeClient();
      const r = new SqsReceiver({
        client,
        queueUrl: QUEUE,
        receiveTimeoutMarginMs: 10_000,
        requestTimeoutMs: 20,
        now: () => 0,
        release: () => Promise.reject(new Error('ChangeMessageVisibilityBatch refused')),
      });
      const late = r.receive(10, 20_000);
      late.giveUp();
      waiting[0]?.answer([{ MessageId: 'm', ReceiptHandle: 'rh-m' }]);
      await r.drain();
      // Node reports an unhandled rejection once the microtask queue is empty: one turn later.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
