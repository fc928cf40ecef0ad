import type { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { AsyncConfig } from '../../src/config/types.ts';
import { DeliverySender, planDeliveries } from '../../src/async/deliveries.ts';
import type { Destination, DestinationMessage } from '../../src/destinations/destination.ts';
import { SqsDestination } from '../../connectors/sqs/sqs-destination.ts';
import { silentLogger } from '../../src/observability/logger.ts';

const dlq = { uri: 'sqs://dlq', kind: 'sqs' } as unknown as AsyncConfig['deadLetter'];
const config = { deadLetter: dlq } as AsyncConfig;

function failedEvent() {
  return {
    functionName: 'fn',
    functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fn',
    requestId: 'r-1',
    payload: Buffer.from('{"a":1}'),
    condition: 'RetriesExhausted' as const,
    approximateInvokeCount: 3,
    response: { statusCode: 200, payload: 'boom', errorMessage: 'boom' },
    nowMs: 0,
  };
}

/** Captures the SendMessage input an SQSClient would send. */
function capturingSqsClient(): { client: SQSClient; inputs: SendMessageCommand['input'][] } {
  const inputs: SendMessageCommand['input'][] = [];
  const client = {
    send: async (command: SendMessageCommand) => {
      inputs.push(command.input);
      return {};
    },
  } as unknown as SQSClient;
  return { client, inputs };
}

describe('async dead-letter message attributes', () => {
  it('sends ErrorCode with DataType Number and the others as String, as Lambda does', async () => {
    const { client, inputs } = capturingSqsClient();
    const destination = new SqsDestination(() => client, 'http://sqs.local/000000000000/dlq');
    const sender = new DeliverySender({
      destinations: { get: () => destination },
      logger: silentLogger(),
      retries: 0,
    });
    const deliveries = planDeliveries(failedEvent(), config);
    expect(await sender.send('fn', config, deliveries)).toEqual([]);
    expect(inputs[0]?.MessageAttributes).toEqual({
      RequestID: { DataType: 'String', StringValue: 'r-1' },
      ErrorCode: { DataType: 'Number', StringValue: '200' },
      ErrorMessage: { DataType: 'String', StringValue: 'boom' },
    });
  });

  it('keeps every attribute of other messages a String', async () => {
    const { client, inputs } = capturingSqsClient();
    const destination: Destination = new SqsDestination(() => client, 'http://sqs.local/q');
    const message: DestinationMessage = { body: 'x', attributes: { ErrorCode: '1' } };
    await destination.send(message);
    expect(inputs[0]?.MessageAttributes).toEqual({
      ErrorCode: { DataType: 'String', StringValue: '1' },
    });
  });
});
