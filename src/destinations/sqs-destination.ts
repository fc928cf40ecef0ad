import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SluiceError } from '../errors.ts';
import type { Destination, DestinationMessage } from './destination.ts';

/** Sends each message with SendMessage; attributes become message attributes (String unless `attributeTypes` says otherwise). */
export class SqsDestination implements Destination {
  readonly description: string;
  readonly #client: () => SQSClient;
  readonly #queueUrl: string;
  readonly #fifo: boolean;

  /** `client` is called per send so a registry may hand out a fresh client after a stop. */
  constructor(client: () => SQSClient, queueUrl: string) {
    this.#client = client;
    this.#queueUrl = queueUrl;
    this.#fifo = queueUrl.endsWith('.fifo');
    this.description = `sqs:${queueUrl}`;
  }

  async send(message: DestinationMessage): Promise<void> {
    const attributes = Object.entries(message.attributes ?? {});
    try {
      await this.#client().send(
        new SendMessageCommand({
          QueueUrl: this.#queueUrl,
          MessageBody: message.body,
          ...(attributes.length > 0
            ? {
                MessageAttributes: Object.fromEntries(
                  attributes.map(([k, v]) => [
                    k,
                    { DataType: message.attributeTypes?.[k] ?? 'String', StringValue: v },
                  ]),
                ),
              }
            : {}),
          // FIFO queues require a group and a deduplication id; the message id makes retried
          // deliveries of the same record collapse into one within SQS's 5-minute window.
          ...(this.#fifo
            ? {
                MessageGroupId: message.key === undefined ? 'sluice' : message.key.toString('utf8'),
                MessageDeduplicationId: createHash('sha256')
                  .update(message.id ?? message.body)
                  .digest('hex'),
              }
            : {}),
        }),
      );
    } catch (err) {
      throw new SluiceError(
        'DESTINATION',
        `SendMessage to ${this.#queueUrl} failed: ${String(err)}`,
        {
          cause: err,
          canRetry: true,
          context: { destination: this.description },
        },
      );
    }
  }

  async stop(): Promise<void> {
    // The client belongs to the connection registry.
  }
}
