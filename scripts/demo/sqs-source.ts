import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  PurgeQueueCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { BrokerEndpoint } from '../../test/brokers/types.ts';
import { mappingCounts, type DemoSource } from './types.ts';

const ORDERS = 3000;
const PINGS = 500;

function client(brokers: Record<string, BrokerEndpoint>): SQSClient {
  return new SQSClient({
    endpoint: brokers.sqs?.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
  });
}

/** Orders into an SQS queue (plus pings the mapping's filter drops), with a dead-letter queue. */
export const sqsSource: DemoSource = {
  label: 'SQS orders',
  brokers: ['sqs'],
  env: (brokers) => ({ SLUICE_SQS_ENDPOINT: brokers.sqs?.url ?? '' }),
  counts: (text) => mappingCounts(text, 'orders'),
  async prepare(brokers) {
    const sqs = client(brokers);
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: 'demo-orders-dlq' }));
    const dlqArn = (
      await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes?.QueueArn;
    const q = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'demo-orders',
        Attributes: {
          VisibilityTimeout: '30',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: '3' }),
        },
      }),
    );
    // A previous demo run may have left messages behind.
    await sqs.send(new PurgeQueueCommand({ QueueUrl: q.QueueUrl })).catch(() => undefined);
    sqs.destroy();
  },
  async send(brokers, onSent) {
    const sqs = client(brokers);
    const queueUrl = `${brokers.sqs?.url}/000000000000/demo-orders`;
    const bodies: string[] = [];
    for (let i = 0; i < ORDERS + PINGS; i++) {
      bodies.push(
        i % 7 === 3 && bodies.length - ORDERS < PINGS
          ? JSON.stringify({ type: 'ping', n: i })
          : JSON.stringify({ type: 'order', id: i, amount: (i % 50) + 1, sentAt: 0 }),
      );
    }
    const orders = bodies.filter((b) => b.includes('"order"')).length;
    let sent = 0;
    // Four senders in parallel, 10 messages a call (SQS's batch limit), paced a little so the
    // mapping visibly scales while traffic keeps coming.
    const chunks: string[][] = [];
    for (let i = 0; i < bodies.length; i += 10) chunks.push(bodies.slice(i, i + 10));
    await Promise.all(
      [0, 1, 2, 3].map(async (lane) => {
        for (let c = lane; c < chunks.length; c += 4) {
          const entries = (chunks[c] as string[]).map((body, i) => ({
            Id: String(i),
            MessageBody: body.replace('"sentAt":0', `"sentAt":${Date.now()}`),
          }));
          await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
          sent += entries.length;
          onSent(entries.length);
          if (c % 20 === 0) await new Promise((r) => setTimeout(r, 50));
        }
      }),
    );
    sqs.destroy();
    return { sent, expected: orders };
  },
};
