import {
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { broker, uniqueName } from '../brokers/endpoints.ts';

const MAX_RECEIVE_COUNT = 2;

function client(): SQSClient {
  const sqs = broker('sqs');
  return new SQSClient({
    endpoint: sqs.url,
    region: sqs.region ?? 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

async function createQueue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string> = {},
): Promise<string> {
  const { QueueUrl } = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  onTestFinished(() => sqs.send(new DeleteQueueCommand({ QueueUrl })).then(() => undefined));
  return QueueUrl;
}

/**
 * Long-polls until a message arrives. Several polls rather than one long one: a message whose
 * visibility timeout runs out during a poll may only be returned by the next one.
 */
async function receiveOne(sqs: SQSClient, queueUrl: string, maxPolls = 10): Promise<Message> {
  for (let i = 0; i < maxPolls; i++) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: 2,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    const message = Messages?.[0];
    if (message) return message;
  }
  throw new Error(`no message on ${queueUrl} after ${maxPolls} long polls`);
}

describe('sqs smoke (@aws-sdk/client-sqs against the real broker)', () => {
  it('long-polls, deletes, redelivers after the visibility timeout and dead-letters', async () => {
    const sqs = client();
    onTestFinished(() => sqs.destroy());

    const dlqName = uniqueName('smoke-dlq');
    const dlqUrl = await createQueue(sqs, dlqName);
    if (broker('sqs').mode === 'local') {
      // node-address in the ElasticMQ config: URLs name the real host, port and account.
      expect(dlqUrl).toBe(`${broker('sqs').url}/000000000000/${dlqName}`);
    }
    const { Attributes: dlqAttributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
    );
    const dlqArn = dlqAttributes?.QueueArn;
    expect(dlqArn).toMatch(new RegExp(`^arn:aws:sqs:us-east-1:000000000000:${dlqName}$`));

    const redrivePolicy = { deadLetterTargetArn: dlqArn, maxReceiveCount: MAX_RECEIVE_COUNT };
    const queueUrl = await createQueue(sqs, uniqueName('smoke-queue'), {
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify(redrivePolicy),
    });

    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'],
      }),
    );
    expect(Attributes?.VisibilityTimeout).toBe('1');
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });

    // Send, long-poll, delete: the message is gone for good.
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'first' }));
    const first = await receiveOne(sqs, queueUrl);
    expect(first.Body).toBe('first');
    expect(first.Attributes?.ApproximateReceiveCount).toBe('1');
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: first.ReceiptHandle }),
    );

    // Received but not deleted: it comes back once the 1 s visibility timeout has run out.
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'second' }));
    const once = await receiveOne(sqs, queueUrl);
    expect([once.Body, once.Attributes?.ApproximateReceiveCount]).toEqual(['second', '1']);
    const twice = await receiveOne(sqs, queueUrl);
    expect(twice.MessageId).toBe(once.MessageId);
    expect(twice.Attributes?.ApproximateReceiveCount).toBe('2');

    // A third receive would exceed maxReceiveCount: the broker moves it to the DLQ instead of
    // delivering it. ElasticMQ moves it on a receive from the source queue, so poll both in turn.
    let deadLettered: Message | undefined;
    for (let i = 0; i < 10 && !deadLettered; i++) {
      const { Messages: fromSource } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }),
      );
      expect(fromSource ?? []).toEqual([]);
      const { Messages: fromDlq } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlqUrl, WaitTimeSeconds: 1 }),
      );
      deadLettered = fromDlq?.[0];
    }
    if (!deadLettered) throw new Error('the message never reached the dead-letter queue');
    expect(deadLettered.MessageId).toBe(once.MessageId);
    expect(deadLettered.Body).toBe('second');
  });
});
