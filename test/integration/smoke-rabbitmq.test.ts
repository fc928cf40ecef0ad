import { connect, type ConsumeMessage } from 'amqplib';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { broker, uniqueName } from '../brokers/endpoints.ts';

const MESSAGE_COUNT = 20;
const PREFETCH = 5;
/** The message nacked (with requeue) on its first delivery. */
const NACKED = 'message-7';

interface QueueStats {
  messages?: number;
  messages_ready?: number;
  messages_unacknowledged?: number;
}

/** GET on the management API; credentials travel in the URL, which `fetch` refuses, so split them. */
async function queueStats(managementUrl: string, queue: string): Promise<QueueStats> {
  const base = new URL(managementUrl);
  const auth = Buffer.from(
    `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`,
  ).toString('base64');
  base.username = '';
  base.password = '';
  const url = new URL(
    `api/queues/%2F/${encodeURIComponent(queue)}`,
    base.href.replace(/\/?$/, '/'),
  );
  const res = await fetch(url, { headers: { authorization: `Basic ${auth}` } });
  if (!res.ok) throw new Error(`GET ${url.pathname} → ${res.status}`);
  return (await res.json()) as QueueStats;
}

describe('RabbitMQ smoke', () => {
  it('consumes persistent messages with prefetch and manual acks, redelivers a nacked one, ends empty', async () => {
    const { amqpUrl, managementUrl } = broker('rabbitmq');
    if (!amqpUrl || !managementUrl)
      throw new Error('rabbitmq endpoint lacks amqpUrl/managementUrl');
    const queue = uniqueName('smoke');

    const connection = await connect(amqpUrl);
    onTestFinished(async () => {
      const cleanup = await connection.createChannel();
      await cleanup.deleteQueue(queue);
      await connection.close();
    });

    const publisher = await connection.createConfirmChannel();
    await publisher.assertQueue(queue, { durable: true });
    for (let i = 0; i < MESSAGE_COUNT; i++) {
      publisher.sendToQueue(queue, Buffer.from(`message-${i}`), { persistent: true });
    }
    await publisher.waitForConfirms();

    // The management API sees what was published (its counts refresh asynchronously).
    await vi.waitFor(
      async () => expect((await queueStats(managementUrl, queue)).messages).toBe(MESSAGE_COUNT),
      { timeout: 30_000, interval: 250 },
    );

    const consumer = await connection.createChannel();
    await consumer.prefetch(PREFETCH);
    const deliveries: { body: string; redelivered: boolean; deliveryMode: unknown }[] = [];
    const acked = new Set<string>();
    let unacked = 0;
    let maxUnacked = 0;
    const allAcked = new Promise<void>((resolve) => {
      const settle = (msg: ConsumeMessage, body: string) => {
        unacked--;
        if (body === NACKED && !msg.fields.redelivered) {
          consumer.nack(msg, false, true);
          return;
        }
        consumer.ack(msg);
        acked.add(body);
        if (acked.size === MESSAGE_COUNT) resolve();
      };
      void consumer.consume(
        queue,
        (msg) => {
          if (!msg) return;
          const body = msg.content.toString();
          deliveries.push({
            body,
            redelivered: msg.fields.redelivered,
            deliveryMode: msg.properties.deliveryMode,
          });
          unacked++;
          maxUnacked = Math.max(maxUnacked, unacked);
          // Settle later so several deliveries can be outstanding, which is what prefetch bounds.
          setImmediate(() => settle(msg, body));
        },
        { noAck: false },
      );
    });
    await allAcked;

    const nacked = deliveries.filter((d) => d.body === NACKED);
    expect(nacked.map((d) => d.redelivered)).toEqual([false, true]);
    expect(deliveries).toHaveLength(MESSAGE_COUNT + 1);
    expect(deliveries.every((d) => d.deliveryMode === 2)).toBe(true); // persistent
    expect(maxUnacked).toBeLessThanOrEqual(PREFETCH);
    expect([...acked].sort()).toEqual(
      Array.from({ length: MESSAGE_COUNT }, (_, i) => `message-${i}`).sort(),
    );

    // Both the broker (AMQP) and the management API agree the queue is empty.
    expect((await consumer.checkQueue(queue)).messageCount).toBe(0);
    await vi.waitFor(
      async () => {
        const stats = await queueStats(managementUrl, queue);
        expect(stats.messages).toBe(0);
        expect(stats.messages_unacknowledged).toBe(0);
      },
      { timeout: 30_000, interval: 250 },
    );
  });
});
