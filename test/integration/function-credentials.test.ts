/**
 * #17 item 5: AWS credentials for functions, off by default. A Node function calls SQS (ElasticMQ)
 * with the AWS SDK v3's default credential chain and endpoint resolution, as a Lambda function
 * calls AWS: it succeeds with `awsCredentials` (from sluice's environment or from named variables)
 * and `awsEndpointUrl` (AWS_ENDPOINT_URL), and fails with CredentialsProviderError without — the
 * engine's own AWS_* variables never reach a function that did not ask for them.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, type TempDir } from '../support/temp.ts';
import { lambdaClient, startEngine, type RunningEngine } from './api-harness.ts';
import { createQueue, sqsClient, sqsEndpoint } from './sqs-mapping-harness.ts';

/** Variables of sluice's own process for this test (the engine runs in the test process). */
const ENGINE_AWS_ENV = {
  AWS_ACCESS_KEY_ID: 'engine-own-key',
  AWS_SECRET_ACCESS_KEY: 'engine-own-secret',
  AWS_SESSION_TOKEN: 'engine-own-token',
};

async function invokeJson(
  client: LambdaClient,
  fn: string,
  event: unknown = {},
): Promise<Record<string, unknown>> {
  const out = await client.send(
    new InvokeCommand({ FunctionName: fn, Payload: Buffer.from(JSON.stringify(event)) }),
  );
  const body = JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8')) as Record<
    string,
    unknown
  >;
  expect(out.FunctionError, JSON.stringify(body)).toBeUndefined();
  return body;
}

describe('AWS credentials for functions', () => {
  let dir: TempDir;
  let running: RunningEngine;
  let client: LambdaClient;
  let sqs: SQSClient;
  let queueUrl: string;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    dir = tempDir('sluice-credentials-');
    sqs = sqsClient();
    queueUrl = (await createQueue(sqs)).url;
    for (const [key, value] of Object.entries(ENGINE_AWS_ENV)) {
      saved[key] = process.env[key];
      process.env[key] = value;
    }
    const fn = (name: string, handler: string, extra: string[]) => [
      `  ${name}:`,
      '    runtime: nodejs22.x',
      `    handler: index.${handler}`,
      '    code: fidelity-node',
      '    timeout: 20',
      ...extra,
    ];
    const endpoint = `    awsEndpointUrl: ${sqsEndpoint()}`;
    running = await startEngine(
      [
        'functions:',
        ...fn('from-env', 'sqsSend', [endpoint, '    awsCredentials: { fromEnvironment: true }']),
        ...fn('from-vars', 'sqsSend', [
          endpoint,
          '    awsCredentials:',
          '      accessKeyIdVar: WORKER_KEY_ID',
          '      secretAccessKeyVar: WORKER_SECRET',
        ]),
        ...fn('without', 'sqsSend', [endpoint]),
        ...fn('aws-env', 'awsEnv', []),
      ].join('\n'),
      dir.path,
      {},
      {
        // sluice's environment as the config sees it (the engine's process.env in production).
        ...ENGINE_AWS_ENV,
        WORKER_KEY_ID: 'worker-key',
        WORKER_SECRET: 'worker-secret',
      },
    );
    client = lambdaClient(running.endpoint);
  }, 120_000);

  afterAll(async () => {
    await running?.stop();
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    sqs?.destroy();
    dir?.cleanup();
  });

  it("lets a function call SQS with credentials from sluice's environment", async () => {
    const sent = await invokeJson(client, 'from-env', { queueUrl, body: 'from-env' });
    expect(sent.messageId, JSON.stringify(sent)).toBeTypeOf('string');
  });

  it('lets a function call SQS with credentials from named variables', async () => {
    const sent = await invokeJson(client, 'from-vars', { queueUrl, body: 'from-vars' });
    expect(sent.messageId, JSON.stringify(sent)).toBeTypeOf('string');
    const got = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    expect((got.Messages ?? []).map((m) => m.Body).sort()).toEqual(['from-env', 'from-vars']);
  });

  it('gives a function without awsCredentials no credentials: CredentialsProviderError', async () => {
    const sent = await invokeJson(client, 'without', { queueUrl, body: 'never' });
    expect(sent.errorName).toBe('CredentialsProviderError');
  });

  it("never passes sluice's own AWS_* variables to a function that did not ask", async () => {
    expect(await invokeJson(client, 'aws-env')).toEqual({
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    });
  });
});
