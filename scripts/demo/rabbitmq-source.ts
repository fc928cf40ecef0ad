import { connect } from 'amqplib';
import type { BrokerEndpoint } from '../../test/brokers/types.ts';
import { mappingCounts, type DemoSource } from './types.ts';

const QUEUE = 'demo-render';
const JOBS = 2000;

/** Render jobs into a RabbitMQ queue; every 25th is "flaky" and fails its first delivery. */
export const rabbitmqSource: DemoSource = {
  label: 'RabbitMQ jobs',
  brokers: ['rabbitmq'],
  env: (brokers) => ({ SLUICE_RABBITMQ_URL: brokers.rabbitmq?.amqpUrl ?? '' }),
  counts: (text) => mappingCounts(text, 'render'),
  async prepare(brokers: Record<string, BrokerEndpoint>) {
    const conn = await connect(brokers.rabbitmq?.amqpUrl ?? '');
    const ch = await conn.createChannel();
    await ch.assertQueue(QUEUE, { durable: true });
    await ch.purgeQueue(QUEUE);
    await conn.close();
  },
  async send(brokers, onSent) {
    const conn = await connect(brokers.rabbitmq?.amqpUrl ?? '');
    const ch = await conn.createConfirmChannel();
    for (let i = 0; i < JOBS; i++) {
      const body = Buffer.from(JSON.stringify({ job: i, flaky: i % 25 === 0 }));
      ch.sendToQueue(QUEUE, body, {
        persistent: true,
        messageId: `job-${i}`,
        contentType: 'application/json',
      });
      if (i % 100 === 99) {
        await ch.waitForConfirms();
        onSent(100);
      }
    }
    await ch.waitForConfirms();
    await conn.close();
    // Flaky jobs are invoked twice (failed, then redelivered): both count as invoked records.
    return { sent: JOBS, expected: JOBS + Math.ceil(JOBS / 25) };
  },
};
