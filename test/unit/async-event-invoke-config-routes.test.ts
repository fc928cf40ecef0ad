import {
  DeleteFunctionEventInvokeConfigCommand,
  GetFunctionEventInvokeConfigCommand,
  LambdaClient,
  ListFunctionEventInvokeConfigsCommand,
  PutFunctionEventInvokeConfigCommand,
  UpdateFunctionEventInvokeConfigCommand,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServer } from '../../src/api/api-server.ts';
import { registerEventInvokeConfigRoutes } from '../../src/api/event-invoke-config-routes.ts';
import { EventInvokeConfigs } from '../../src/async/event-invoke-configs.ts';
import type { BrokerConnectionConfig as ConnectionConfig } from '../../src/connections/connection-configs.ts';
import { SOURCE_PLUGINS } from '../../src/app/plugins.ts';
import { parseDestinationUri } from '../../src/destinations/destination-uri.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { asyncConfig, createHarness, memoryDestination } from './fakes/async-harness.ts';
import { tempStorePath } from '../support/temp.ts';

const connections: Record<string, ConnectionConfig> = {
  local: {
    type: 'sqs',
    name: 'local',
    endpoint: 'http://127.0.0.1:19324',
    region: 'us-east-1',
    credentials: undefined,
  },
  events: {
    type: 'kafka',
    name: 'events',
    bootstrapServers: ['127.0.0.1:19092'],
    clientId: 'sluice',
    sasl: undefined,
    ssl: undefined,
  },
};
const ARN = 'arn:aws:lambda:us-east-1:000000000000:function';

describe('event-invoke-config API (real SDK against the routes)', () => {
  let server: ApiServer;
  let client: LambdaClient;
  let configs: EventInvokeConfigs;
  let path: string;
  let cleanup: () => void;
  let h: ReturnType<typeof createHarness>;

  beforeAll(async () => {
    ({ path, cleanup } = tempStorePath());
    const fileConfigs = {
      plain: asyncConfig(),
      declared: asyncConfig({ maximumRetryAttempts: 1, onFailure: memoryDestination('x') }),
      target: asyncConfig(),
    };
    h = createHarness({ path, handler: async () => null, configs: fileConfigs });
    configs = new EventInvokeConfigs({ fileConfigs, store: h.store });
    await configs.load();
    server = new ApiServer({
      host: '127.0.0.1',
      port: 0,
      invoker: h.invoker,
      region: 'us-east-1',
      accountId: '000000000000',
      logger: silentLogger(),
      metrics: h.metrics,
    });
    registerEventInvokeConfigRoutes(server, {
      invoker: h.invoker,
      region: 'us-east-1',
      accountId: '000000000000',
      configs,
      resolveDestination: (uri) =>
        parseDestinationUri(uri, {
          connections,
          hasFunction: (n) => h.invoker.functionSpec(n) !== undefined,
          plugins: SOURCE_PLUGINS,
        }),
    });
    const { port } = await server.start();
    client = new LambdaClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await server.stop();
    await h.store.close();
    cleanup();
  });

  it('answers 404 ResourceNotFoundException for a function without config, and for an unknown function', async () => {
    await expect(
      client.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'plain' })),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(
      client.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'nope' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('round-trips Put, Get, Update, List and Delete', async () => {
    const put = await client.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'plain',
        MaximumRetryAttempts: 1,
        MaximumEventAgeInSeconds: 300,
        DestinationConfig: {
          OnSuccess: { Destination: 'function:target' },
          OnFailure: { Destination: 'http://127.0.0.1:19324/000000000000/failures' },
        },
      }),
    );
    expect(put).toMatchObject({
      FunctionArn: `${ARN}:plain:$LATEST`,
      MaximumRetryAttempts: 1,
      MaximumEventAgeInSeconds: 300,
      DestinationConfig: {
        OnSuccess: { Destination: 'function:target' },
        OnFailure: { Destination: 'http://127.0.0.1:19324/000000000000/failures' },
      },
    });
    expect(put.LastModified).toBeInstanceOf(Date);
    expect(Math.abs((put.LastModified as Date).getTime() - Date.now())).toBeLessThan(5000);

    // The worker sees the change at once.
    expect(configs.get('plain')).toMatchObject({
      maximumRetryAttempts: 1,
      maximumEventAgeMs: 300_000,
      onSuccess: { type: 'function', functionName: 'target' },
      onFailure: { type: 'sqs', connection: 'local' },
    });

    const got = await client.send(
      new GetFunctionEventInvokeConfigCommand({ FunctionName: `${ARN}:plain` }),
    );
    expect(got.MaximumEventAgeInSeconds).toBe(300);

    // Update merges: only the retry count changes, OnSuccess is removed explicitly.
    const updated = await client.send(
      new UpdateFunctionEventInvokeConfigCommand({
        FunctionName: 'plain',
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnSuccess: {} },
      }),
    );
    expect(updated).toMatchObject({
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 300,
      DestinationConfig: {
        OnSuccess: {},
        OnFailure: { Destination: 'http://127.0.0.1:19324/000000000000/failures' },
      },
    });

    const listed = await client.send(
      new ListFunctionEventInvokeConfigsCommand({ FunctionName: 'plain' }),
    );
    expect(listed.FunctionEventInvokeConfigs?.map((c) => c.MaximumRetryAttempts)).toEqual([0]);

    // Put replaces: fields not given go back to Lambda's defaults.
    const replaced = await client.send(
      new PutFunctionEventInvokeConfigCommand({ FunctionName: 'plain', MaximumRetryAttempts: 2 }),
    );
    expect(replaced).toMatchObject({
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnSuccess: {}, OnFailure: {} },
    });

    await client.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: 'plain' }));
    await expect(
      client.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'plain' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(
      client.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: 'plain' })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('shows a config declared in the file, and persists API changes across a restart', async () => {
    const got = await client.send(
      new GetFunctionEventInvokeConfigCommand({ FunctionName: 'declared' }),
    );
    expect(got).toMatchObject({
      MaximumRetryAttempts: 1,
      DestinationConfig: { OnFailure: { Destination: 'memory:x' } },
    });
    await client.send(
      new PutFunctionEventInvokeConfigCommand({
        FunctionName: 'declared',
        MaximumEventAgeInSeconds: 60,
        DestinationConfig: { OnFailure: { Destination: 'kafka://failures' } },
      }),
    );
    const reopened = new SqliteStore({ path });
    try {
      const again = new EventInvokeConfigs({
        fileConfigs: { declared: asyncConfig() },
        store: reopened,
      });
      await again.load();
      expect(again.get('declared')).toMatchObject({
        maximumEventAgeMs: 60_000,
        onFailure: { type: 'kafka', connection: 'events', topic: 'failures' },
      });
    } finally {
      await reopened.close();
    }
  });

  it('rejects invalid values with InvalidParameterValueException', async () => {
    const bad = [
      { FunctionName: 'plain', MaximumRetryAttempts: 3 },
      { FunctionName: 'plain', MaximumEventAgeInSeconds: 59 },
      { FunctionName: 'plain', MaximumEventAgeInSeconds: 21601 },
      {
        FunctionName: 'plain',
        DestinationConfig: { OnFailure: { Destination: 'function:missing' } },
      },
      { FunctionName: 'plain', DestinationConfig: { OnFailure: { Destination: 'ftp://x' } } },
      {
        FunctionName: 'plain',
        DestinationConfig: { OnFailure: { Destination: 'rabbitmq://ex/key' } },
      },
    ];
    for (const input of bad) {
      await expect(
        client.send(new PutFunctionEventInvokeConfigCommand(input)),
        JSON.stringify(input),
      ).rejects.toMatchObject({
        name: 'InvalidParameterValueException',
        $metadata: { httpStatusCode: 400 },
      });
    }
  });
});
