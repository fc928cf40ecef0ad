/**
 * RabbitMQ event source mappings created through the API keep what the caller sent (issue #17
 * item 11): the broker ARN and SourceAccessConfigurations; a BASIC_AUTH secret ARN selects the
 * connection that declares it, and no request can reach a broker not declared in the config.
 * Driven by @aws-sdk/client-lambda against a running engine and the real broker.
 */
import {
  CreateEventSourceMappingCommand,
  GetEventSourceMappingCommand,
  ListEventSourceMappingsCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_HANDLERS,
  lambdaClient,
  startEngine,
  type RunningEngine,
} from '../../integration/api-harness.ts';
import { createQueue, rabbit, type TestQueue } from '../../integration/rabbitmq-helpers.ts';
import { tempDir, type TempDir } from '../../support/temp.ts';

const BROKER = 'arn:aws:mq:us-east-1:000000000000:broker:pizzaBroker:b-9bcfa592';
const SECRET_A = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:MQaccess-a';
const SECRET_B = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:MQaccess-b';

describe('RabbitMQ mappings through the Lambda API keep what the caller sent (SDK)', () => {
  let dir: TempDir;
  let running: RunningEngine;
  let client: LambdaClient;
  let queue: TestQueue;

  beforeAll(async () => {
    dir = tempDir();
    queue = await createQueue({ dlx: false });
    const url = JSON.stringify(rabbit().amqpUrl);
    running = await startEngine(
      [
        'region: us-east-1',
        'accountId: "000000000000"',
        'functions:',
        '  echo:',
        '    runtime: nodejs22.x',
        '    handler: index.echo',
        `    code: ${JSON.stringify(API_HANDLERS)}`,
        'connections:',
        `  rabbit-a: { type: rabbitmq, url: ${url}, secretArn: ${SECRET_A} }`,
        `  rabbit-b: { type: rabbitmq, url: ${url}, secretArn: ${SECRET_B} }`,
      ].join('\n'),
      dir.path,
    );
    client = lambdaClient(running.endpoint);
  });

  afterAll(async () => {
    client?.destroy();
    await running?.stop();
    await queue?.cleanup();
    dir?.cleanup();
  });

  const access = (secret: string) => [
    { Type: 'BASIC_AUTH' as const, URI: secret },
    { Type: 'VIRTUAL_HOST' as const, URI: '/' },
  ];

  it('keeps EventSourceArn and SourceAccessConfigurations as sent, in Get and List', async () => {
    const created = await client.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'echo',
        EventSourceArn: BROKER,
        Queues: [queue.queue],
        SourceAccessConfigurations: access(SECRET_B),
        Enabled: false,
      }),
    );
    expect(created).toMatchObject({
      EventSourceArn: BROKER,
      SourceAccessConfigurations: access(SECRET_B),
    });
    const got = await client.send(new GetEventSourceMappingCommand({ UUID: created.UUID }));
    expect(got).toMatchObject({
      EventSourceArn: BROKER,
      SourceAccessConfigurations: access(SECRET_B),
    });
    const listed = await client.send(
      new ListEventSourceMappingsCommand({ EventSourceArn: BROKER }),
    );
    expect(listed.EventSourceMappings?.map((m) => m.UUID)).toEqual([created.UUID]);
    expect(listed.EventSourceMappings?.[0]?.SourceAccessConfigurations).toEqual(access(SECRET_B));
  });

  it('refuses a second mapping of the same function, broker, virtual host and queue (409)', async () => {
    const request = {
      FunctionName: 'echo',
      EventSourceArn: BROKER,
      Queues: [`${queue.queue}-twice`],
      SourceAccessConfigurations: access(SECRET_A),
      Enabled: false,
    };
    const first = await client.send(new CreateEventSourceMappingCommand(request));
    const err = await client.send(new CreateEventSourceMappingCommand(request)).then(
      () => undefined,
      (e: Error & { $metadata?: { httpStatusCode?: number } }) => e,
    );
    expect(err?.name).toBe('ResourceConflictException');
    expect(err?.$metadata?.httpStatusCode).toBe(409);
    expect(err?.message).toContain(`existing mapping with UUID ${first.UUID}`);
  });

  it('answers a secret ARN no connection declares with InvalidParameterValueException naming it', async () => {
    const unknown = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:nobody';
    const err = await client
      .send(
        new CreateEventSourceMappingCommand({
          FunctionName: 'echo',
          EventSourceArn: BROKER,
          Queues: [`${queue.queue}-other`],
          SourceAccessConfigurations: access(unknown),
        }),
      )
      .then(
        () => undefined,
        (e: Error & { $metadata?: { httpStatusCode?: number } }) => e,
      );
    expect(err?.name).toBe('InvalidParameterValueException');
    expect(err?.$metadata?.httpStatusCode).toBe(400);
    expect(err?.message).toContain(unknown);
  });

  it('refuses a broker URL in the request: only declared connections are reached', async () => {
    const err = await client
      .send(
        new CreateEventSourceMappingCommand({
          FunctionName: 'echo',
          EventSourceArn: 'amqp://guest:guest@127.0.0.1:5672',
          Queues: [`${queue.queue}-url`],
          SourceAccessConfigurations: access(SECRET_A),
        }),
      )
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(err?.name).toBe('InvalidParameterValueException');
  });
});
