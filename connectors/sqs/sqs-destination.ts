import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SluiceError } from '../../src/errors.ts';
import type { ConnectionRegistry } from '../../src/connections/connections.ts';
import type { SqsConnectionConfig } from '../../src/connections/connection-configs.ts';
import type { DestinationPart } from '../../src/connectors/destination-plugin.ts';
import { parseSqsQueueArn } from '../../src/lambda/arn.ts';
import type { Destination, DestinationMessage } from '../../src/connectors/destination.ts';

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

/** An SQS destination's target: the queue URL. */
export type SqsDestinationTarget = { queueUrl: string };

function parseQueueUrl(uri: string): SqsDestinationTarget | undefined {
  if (!/^https?:\/\//.test(uri)) return undefined;
  try {
    return new URL(uri).pathname.length > 1 ? { queueUrl: uri } : undefined;
  } catch {
    return undefined;
  }
}

const originOf = (url: string): string => new URL(url).origin;

/**
 * SQS as a destination: a queue URL (in the file and the API) or, through the API as Lambda
 * takes it, a queue ARN. The API picks the connection whose endpoint serves the URL, or whose
 * region is the ARN's; an ARN's queue URL is that connection's endpoint (or AWS's for the region).
 */
export const sqsDestinationPart: DestinationPart<
  SqsDestinationTarget,
  Pick<ConnectionRegistry, 'sqsClient'>
> = {
  form: 'an SQS queue URL (http(s)://…)',
  apiForms: ['an SQS ARN', 'an SQS queue URL'],
  parse: parseQueueUrl,
  resolve(uri, pick) {
    const arn = parseSqsQueueArn(uri);
    if (arn) {
      const { region, accountId, queueName } = arn;
      const c = pick((s) => (s as SqsConnectionConfig).region === region) as SqsConnectionConfig;
      const origin = c.endpoint?.replace(/\/+$/, '') ?? `https://sqs.${region}.amazonaws.com`;
      return { connection: c.name, target: { queueUrl: `${origin}/${accountId}/${queueName}` } };
    }
    const target = parseQueueUrl(uri);
    if (!target) return undefined;
    const origin = originOf(target.queueUrl);
    const c = pick((s) => {
      const endpoint = (s as SqsConnectionConfig).endpoint;
      return endpoint ? originOf(endpoint) === origin : false;
    });
    return { connection: c.name, target };
  },
  build: (d, clients) => new SqsDestination(() => clients.sqsClient(d.connection), d.queueUrl),
};
