/**
 * Event-source-mapping API answers for SQS as Lambda gives them (issue #17 items 2, 7, 8, 12),
 * driven by @aws-sdk/client-lambda against a running engine on ElasticMQ.
 */
import {
  CreateEventSourceMappingCommand,
  GetEventSourceMappingCommand,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Engine } from '../../../src/app/sluice-app.ts';
import {
  createQueue,
  deleteQueue,
  engineYaml,
  lambdaClientFor,
  mappingYaml,
  sendMessages,
  sqsClient,
  startCollector,
  type Collector,
  type TestQueue,
} from '../../integration/sqs-mapping-harness.ts';
import { awsLambda } from '../../support/aws-cli.ts';
import { eventually } from '../../support/eventually.ts';
import { apiEndpoint, startTestEngine } from '../../support/start-test-engine.ts';
import { tempStorePath } from '../../support/temp.ts';

let sqs: SQSClient;
let collector: Collector;
let engine: Engine;
let lambda: LambdaClient;

beforeAll(async () => {
  sqs = sqsClient();
  collector = await startCollector();
  // Each batch is held 3 s, so a disable finds a batch to drain.
  engine = await startTestEngine(
    engineYaml({ collectorUrl: collector.url, storagePath: tempStorePath().path, holdMs: 3000 }),
  );
  lambda = lambdaClientFor(engine);
});

afterAll(async () => {
  lambda?.destroy();
  await engine?.stop(10_000);
  await collector?.close();
  sqs?.destroy();
});

async function queue(): Promise<TestQueue> {
  const q = await createQueue(sqs);
  onTestFinished(() => deleteQueue(sqs, q));
  return q;
}

async function failure(
  p: Promise<unknown>,
): Promise<{ name: string; status?: number; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('the request succeeded');
}

const get = (uuid: string) => lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
const create = (input: Record<string, unknown>) =>
  lambda.send(new CreateEventSourceMappingCommand({ FunctionName: 'recorder', ...input }));

describe('SQS event source mappings answer as Lambda (SDK)', () => {
  it('refuses a second mapping of the same function and queue with ResourceConflictException', async () => {
    const q = await queue();
    const first = await create({ EventSourceArn: q.arn, Enabled: false });
    const again = await failure(create({ EventSourceArn: q.arn, BatchSize: 5 }));
    expect(again).toEqual({
      name: 'ResourceConflictException',
      status: 409,
      message: `An event source mapping with SQS arn (" ${q.arn} ") and function (" recorder ") already exists. Please update or delete the existing mapping with UUID ${first.UUID}`,
    });
  });

  it('AWS CLI v2: a duplicate create exits 254 with ResourceConflictException; --filter-criteria {} clears', async () => {
    const q = await queue();
    const cli = (...args: string[]) => awsLambda(apiEndpoint(engine), args);
    const base = ['--function-name', 'recorder', '--event-source-arn', q.arn];
    const created = await cli(
      'create-event-source-mapping',
      ...base,
      '--no-enabled',
      '--filter-criteria',
      '{"Filters":[{"Pattern":"{\\"body\\":{\\"a\\":[1]}}"}]}',
    );
    expect({ exitCode: created.exitCode, stderr: created.stderr }).toEqual({
      exitCode: 0,
      stderr: '',
    });
    const uuid = (created.json as { UUID: string }).UUID;
    const again = await cli('create-event-source-mapping', ...base);
    expect(again.exitCode).toBe(254);
    expect(again.stderr).toContain('(ResourceConflictException)');
    expect(again.stderr).toContain(`existing mapping with UUID ${uuid}`);
    const cleared = await cli(
      'update-event-source-mapping',
      '--uuid',
      uuid,
      '--filter-criteria',
      '{}',
    );
    expect(cleared.exitCode).toBe(0);
    expect(
      (cleared.json as { FilterCriteria?: { Filters?: unknown[] } }).FilterCriteria?.Filters ?? [],
    ).toEqual([]);
  });

  it('does not start a stored API mapping that a YAML mapping now duplicates', async () => {
    const q = await queue();
    const store = tempStorePath();
    const first = await startTestEngine(
      engineYaml({ collectorUrl: collector.url, storagePath: store.path }),
    );
    const stored = await lambdaClientFor(first).send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'recorder',
        EventSourceArn: q.arn,
        Enabled: false,
      }),
    );
    await first.stop(10_000);
    const second = await startTestEngine(
      engineYaml({
        collectorUrl: collector.url,
        storagePath: store.path,
        mappings: mappingYaml('declared', q.url, ['enabled: false']),
      }),
    );
    onTestFinished(() => second.stop(10_000).then(() => undefined));
    const listed = await lambdaClientFor(second).send(
      new ListEventSourceMappingsCommand({ EventSourceArn: q.arn }),
    );
    const uuids = (listed.EventSourceMappings ?? []).map((m) => m.UUID);
    expect(uuids).toHaveLength(1);
    expect(uuids).not.toContain(stored.UUID);
  });

  it('clears the filters on an update with FilterCriteria {}', async () => {
    const q = await queue();
    const created = await create({
      EventSourceArn: q.arn,
      Enabled: false,
      FilterCriteria: { Filters: [{ Pattern: '{"body":{"a":[1]}}' }] },
    });
    await lambda.send(
      new UpdateEventSourceMappingCommand({ UUID: created.UUID, FilterCriteria: {} }),
    );
    const got = await get(created.UUID as string);
    expect(got.FilterCriteria?.Filters ?? []).toEqual([]);
  });

  it('answers a create for an unknown function with ResourceNotFoundException', async () => {
    const q = await queue();
    const r = await failure(create({ FunctionName: 'nope', EventSourceArn: q.arn }));
    expect(r).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    expect(r.message).toContain('nope');
  });

  it('answers a create on a queue that does not exist with InvalidParameterValueException', async () => {
    const q = await queue();
    const missing = `${q.arn}-missing`;
    const r = await failure(create({ EventSourceArn: missing }));
    expect(r).toEqual({
      name: 'InvalidParameterValueException',
      status: 400,
      message:
        'Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist or you do not have access to it.',
    });
  });

  it("uses AWS's validation texts for a batch over 10 without a window and for an invalid filter", async () => {
    const q = await queue();
    const batch = await failure(create({ EventSourceArn: q.arn, BatchSize: 20 }));
    expect(batch.name).toBe('InvalidParameterValueException');
    expect(batch.message).toMatch(
      /^Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10/,
    );
    const filter = await failure(
      create({ EventSourceArn: q.arn, FilterCriteria: { Filters: [{ Pattern: '{"body":' }] } }),
    );
    expect(filter.name).toBe('InvalidParameterValueException');
    expect(filter.message).toMatch(/^Invalid filter pattern definition\./);
  });

  it('answers Disabled to a disabled create, Enabling to an enabling update, and Disabling while a batch drains', async () => {
    const q = await queue();
    const created = await create({ EventSourceArn: q.arn, Enabled: false, BatchSize: 1 });
    const uuid = created.UUID as string;
    expect(created.State).toBe('Disabled');
    expect(created.LastProcessingResult).toBe('No records processed');

    const enabled = await lambda.send(
      new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: true }),
    );
    expect(enabled.State).toBe('Enabling');
    await eventually(async () => (await get(uuid)).State === 'Enabled', 'Enabled', {
      limitMs: 60_000,
    });

    collector.reset();
    await sendMessages(sqs, q.url, ['held']);
    await eventually(
      () => collector.deliveries().some((r) => r.body === 'held'),
      'the batch is in the function',
      {
        limitMs: 60_000,
      },
    );
    const disabling = await lambda.send(
      new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: false }),
    );
    expect(disabling.State).toBe('Disabling');
    expect((await get(uuid)).State).toBe('Disabling');
    await eventually(async () => (await get(uuid)).State === 'Disabled', 'Disabled', {
      limitMs: 60_000,
    });
    expect((await get(uuid)).LastProcessingResult).toBe('OK');
  });
});
