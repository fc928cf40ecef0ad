import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';

/**
 * Receives until `count` messages arrived or `maxPolls` 1-second long polls passed (bounded in
 * time), without deleting them. Tests then assert on what arrived.
 */
export async function receiveUpTo(
  client: SQSClient,
  queueUrl: string,
  count: number,
  maxPolls = 40,
): Promise<Message[]> {
  const got: Message[] = [];
  for (let i = 0; i < maxPolls && got.length < count; i++) {
    const { Messages } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    got.push(...(Messages ?? []));
  }
  return got;
}
