/**
 * Lambda's read paths and the "not supported" answer, driven by the real clients tools use: the
 * AWS CLI v2 (Debian's awscli at /usr/bin/aws) and @aws-sdk/client-lambda, against a real engine
 * on loopback without a token (the CLI cannot send a bearer token).
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetAccountSettingsCommand,
  GetFunctionConfigurationCommand,
  ListAliasesCommand,
  ListTagsCommand,
  ListVersionsByFunctionCommand,
  PublishVersionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  waitUntilFunctionActiveV2,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_HANDLERS,
  lambdaClient,
  startEngine,
  type RunningEngine,
} from '../../integration/api-harness.ts';
import { awsLambda } from '../../support/aws-cli.ts';
import { tempDir, type TempDir } from '../../support/temp.ts';

const ARN = 'arn:aws:lambda:us-east-1:000000000000:function:echo';

describe('Lambda read paths with the AWS CLI v2 and the SDK', () => {
  let dir: TempDir;
  let running: RunningEngine;
  let client: LambdaClient;

  beforeAll(async () => {
    dir = tempDir();
    running = await startEngine(
      [
        'region: us-east-1',
        'accountId: "000000000000"',
        'concurrency:',
        '  limit: 200',
        'functions:',
        '  echo:',
        '    runtime: nodejs22.x',
        '    handler: index.echo',
        `    code: ${JSON.stringify(API_HANDLERS)}`,
        '    memorySize: 256',
        '    timeout: 7',
        '    environment:',
        '      GREETING: hello',
      ].join('\n'),
      dir.path,
    );
    client = lambdaClient(running.endpoint);
  });

  afterAll(async () => {
    client?.destroy();
    await running?.stop();
    dir?.cleanup();
  });

  const cli = (...args: string[]) => awsLambda(running.endpoint, args);

  it("answers get-function-configuration with Lambda's configuration shape (CLI)", async () => {
    const r = await cli('get-function-configuration', '--function-name', 'echo');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.json).toMatchObject({
      FunctionName: 'echo',
      FunctionArn: ARN,
      Runtime: 'nodejs22.x',
      Handler: 'index.echo',
      MemorySize: 256,
      Timeout: 7,
      Environment: { Variables: { GREETING: 'hello' } },
      State: 'Active',
      LastUpdateStatus: 'Successful',
      PackageType: 'Zip',
      Version: '$LATEST',
    });
  });

  it('lets `aws lambda wait function-active` and the SDK waiter finish', async () => {
    const r = await cli('wait', 'function-active', '--function-name', 'echo');
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: '' });
    const waited = await waitUntilFunctionActiveV2(
      { client, maxWaitTime: 30 },
      { FunctionName: 'echo' },
    );
    expect(waited.state).toBe('SUCCESS');
    const config = await client.send(new GetFunctionConfigurationCommand({ FunctionName: ARN }));
    expect(config).toMatchObject({ FunctionName: 'echo', State: 'Active', MemorySize: 256 });
  });

  it('answers a missing function with ResourceNotFoundException (CLI exit 254)', async () => {
    const r = await cli('get-function-configuration', '--function-name', 'nope');
    expect(r.exitCode).toBe(254);
    expect(r.stderr).toContain('ResourceNotFoundException');
  });

  it('reports the engine concurrency as the account settings', async () => {
    const r = await cli('get-account-settings');
    expect(r.exitCode).toBe(0);
    expect(r.json).toMatchObject({
      AccountLimit: { ConcurrentExecutions: 200, UnreservedConcurrentExecutions: 200 },
      AccountUsage: { FunctionCount: 1 },
    });
    const sdk = await client.send(new GetAccountSettingsCommand({}));
    expect(sdk.AccountLimit?.ConcurrentExecutions).toBe(200);
  });

  it('lists $LATEST as the only version and no aliases', async () => {
    const versions = await cli('list-versions-by-function', '--function-name', 'echo');
    expect(versions.exitCode).toBe(0);
    expect(versions.json).toMatchObject({
      Versions: [{ FunctionName: 'echo', Version: '$LATEST' }],
    });
    const aliases = await cli('list-aliases', '--function-name', 'echo');
    expect(aliases.json).toEqual({ Aliases: [] });
    const sdkVersions = await client.send(
      new ListVersionsByFunctionCommand({ FunctionName: 'echo' }),
    );
    expect(sdkVersions.Versions?.map((v) => v.Version)).toEqual(['$LATEST']);
    const sdkAliases = await client.send(new ListAliasesCommand({ FunctionName: 'echo' }));
    expect(sdkAliases.Aliases).toEqual([]);
  });

  it('tags, lists and untags a function with the CLI and the SDK', async () => {
    const tagged = await cli('tag-resource', '--resource', ARN, '--tags', 'team=core,env=dev');
    expect({ exitCode: tagged.exitCode, stderr: tagged.stderr }).toEqual({
      exitCode: 0,
      stderr: '',
    });
    expect((await cli('list-tags', '--resource', ARN)).json).toEqual({
      Tags: { team: 'core', env: 'dev' },
    });
    const untagged = await cli('untag-resource', '--resource', ARN, '--tag-keys', 'env');
    expect(untagged.exitCode).toBe(0);
    await client.send(new TagResourceCommand({ Resource: ARN, Tags: { owner: 'sdk' } }));
    await client.send(new UntagResourceCommand({ Resource: ARN, TagKeys: ['team'] }));
    expect((await client.send(new ListTagsCommand({ Resource: ARN }))).Tags).toEqual({
      owner: 'sdk',
    });
  });

  it('answers an operation sluice lacks with UnsupportedOperationException naming it, not a 404', async () => {
    const r = await cli('publish-version', '--function-name', 'echo');
    expect(r.exitCode).toBe(254);
    expect(r.stderr).toContain(
      'An error occurred (UnsupportedOperationException) when calling the PublishVersion operation',
    );
    expect(r.stderr).toContain('PublishVersion is not supported by sluice');
    const err = await client.send(new PublishVersionCommand({ FunctionName: 'echo' })).then(
      () => undefined,
      (e: unknown) => e as Error & { $metadata: { httpStatusCode?: number } },
    );
    expect(err?.name).toBe('UnsupportedOperationException');
    expect(err?.$metadata.httpStatusCode).toBe(400);
    expect(err?.message).toContain('PublishVersion is not supported by sluice');
  });
});
