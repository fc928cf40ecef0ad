/**
 * Settling and other mappings never wait behind long polls: connectors built the way the engine
 * builds them (src/connectors/registry.ts) on one connection, against the real ElasticMQ. The
 * checks are orderings against 20 s long polls (the broker's own clock), never wall-time bounds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateEventSourceMappingCommand,
  GetEventSourceMappingCommand,
  ListEventSourceMappingsCommand,
} from '@aws-sdk/client-lambda';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { Registry } from 'prom-client';
import { describe, expect, it, onTestFinished } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { startTestEngine } from '../support/start-test-engine.ts';
import { tempStorePath } from '../support/temp.ts';
import type { SqsConnector } from '../../connectors/sqs/index.ts';
import { loadConfigFromString } from '../../src/app/config.ts';
import { connectorFactory } from '../../src/app/connector-registry.ts';
import type { Connector } from '../../src/connectors/types.ts';
import { ConnectionRegistry } from '../../src/connections/connections.ts';
import type { DestinationFactory } from '../../src/destinations/destination-factory.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import {
  createQueue,
  deleteQueue,
  engineYaml,
  lambdaClientFor,
  mappingYaml,
  queueDepth,
  sendMessages,
  type TestQueue,
  useSqsSuite,
} from './sqs-mapping-harness.ts';

/** More than the SDK's default pool of 50 sockets per client. */
const IDLE_POLLS = 60;
const LONG_POLL_MS = 20_000;

const suite = useSqsSuite();

async function queues(n: number): Promise<TestQueue[]> {
  const created = await Promise.all(Array.from({ length: n }, () => createQueue(suite.sqs)));
  onTestFinished(async () => {
    for (const q of created) await deleteQueue(suite.sqs, q);
  });
  return created;
}

/** Connectors for `queueUrls`, built by the engine's connector factory on one connection. */
async function connectorsOnOneConnection(queueUrls: string[]): Promise<SqsConnector[]> {
  const yaml = engineYaml({
    collectorUrl: suite.collector.url,
    storagePath: tempStorePath().path,
    mappings: queueUrls.map((url, i) => mappingYaml(`m${i}`, url)).join('\n'),
  });
  const config = loadConfigFromString(yaml, { file: '/tmp/sluice-pools-test.yaml' });
  const connections = new ConnectionRegistry(config.connections, silentLogger());
  const build = connectorFactory({
    config,
    connections,
    logger: silentLogger(),
    destinations: undefined as unknown as DestinationFactory, // SQS sources use none
    metricsRegistry: new Registry(),
  });
  const connectors = config.mappings.map((m) => build(m).connector as Connector as SqsConnector);
  onTestFinished(async () => {
    await Promise.all(connectors.map((c) => c.stop()));
    await connections.stop();
  });
  await Promise.all(connectors.map((c) => c.start()));
  return connectors;
}

describe('SQS: one connection, many long polls', () => {
  it('a delete is not queued behind 60 open long polls on the same connection', async () => {
    const [busyQueue, idleQueue] = await queues(2);
    if (!busyQueue || !idleQueue) throw new Error('no queues');
    const [busy, idle] = await connectorsOnOneConnection([busyQueue.url, idleQueue.url]);
    if (!busy || !idle) throw new Error('no connectors');
    await sendMessages(suite.sqs, busyQueue.url, ['settle-me']);
    const records = await busy.fetch({
      max: 10,
      waitMs: 5000,
      signal: new AbortController().signal,
    });
    expect(records).toHaveLength(1);

    // 60 pollers waiting on an empty queue: each answers only after its 20 s long poll.
    const giveUp = new AbortController();
    onTestFinished(() => giveUp.abort());
    let pollsAnswered = 0;
    const polls = Array.from({ length: IDLE_POLLS }, () =>
      idle
        .fetch({ max: 10, waitMs: LONG_POLL_MS, signal: giveUp.signal })
        .finally(() => (pollsAnswered += 1)),
    );
    await sleep(1000); // lets the polls reach the broker (not a timing assertion)

    await busy.settle({ succeeded: records, failed: [], dropped: [] });
    // Deleted while every idle poll is still open: the delete did not wait for a socket.
    expect(pollsAnswered).toBe(0);
    expect(await queueDepth(suite.sqs, busyQueue.url)).toEqual({ visible: 0, inFlight: 0 });
    giveUp.abort();
    await Promise.allSettled(polls);
  });

  it('a 13th mapping on a connection with 12 idle mappings is Enabled and delivers while their polls are open', async () => {
    // Above the 60 idle pollers: this case is about sockets, not the function's concurrency.
    await thirteenthMappingDeliversWhileIdlePollsAreOpen(100);
  });

  it('a 13th mapping delivers while 60 idle pollers poll under a concurrency limit of 50', async () => {
    // Fewer units than idle pollers: a poller must not hold one while its long poll is open.
    await thirteenthMappingDeliversWhileIdlePollsAreOpen(50);
  });
});

/**
 * 12 idle mappings of 5 pollers each on one connection, then a 13th: it becomes Enabled and its
 * message is invoked while the idle mappings' 20 s long polls are all still open.
 */
async function thirteenthMappingDeliversWhileIdlePollsAreOpen(concurrencyLimit: number) {
  suite.collector.reset();
  const all = await queues(13);
  const idle = all.slice(0, 12);
  const last = all[12] as TestQueue;
  // The reference: a 20 s long poll on an empty queue, opened before any mapping polls. The
  // idle mappings' polls (5 each, 60 in all) open after it, so none returns before it does.
  const [referenceQueue] = await queues(1);
  let referenceAnswered = false;
  const reference = suite.sqs
    .send(
      new ReceiveMessageCommand({
        QueueUrl: referenceQueue?.url,
        WaitTimeSeconds: LONG_POLL_MS / 1000,
      }),
    )
    .finally(() => (referenceAnswered = true));
  onTestFinished(() =>
    reference.then(
      () => undefined,
      () => undefined,
    ),
  );
  const pollers = 'provisionedPollerConfig: { minimumPollers: 5, maximumPollers: 5 }';
  const engine = await startTestEngine(
    engineYaml({
      collectorUrl: suite.collector.url,
      storagePath: tempStorePath().path,
      concurrencyLimit,
      mappings: idle.map((q, i) => mappingYaml(`idle-${i}`, q.url, [pollers])).join('\n'),
    }),
  );
  onTestFinished(() => engine.stop(10_000).then(() => undefined));
  const lambda = lambdaClientFor(engine);
  await eventually(
    async () => {
      const { EventSourceMappings = [] } = await lambda.send(
        new ListEventSourceMappingsCommand({}),
      );
      return (
        EventSourceMappings.length === 12 && EventSourceMappings.every((m) => m.State === 'Enabled')
      );
    },
    'the 12 idle mappings Enabled',
    { limitMs: 60_000 },
  );

  const created = await lambda.send(
    new CreateEventSourceMappingCommand({ FunctionName: 'recorder', EventSourceArn: last.arn }),
  );
  const uuid = created.UUID as string;
  await eventually(
    async () =>
      (await lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }))).State === 'Enabled',
    'the 13th mapping Enabled',
    { limitMs: 60_000 },
  );
  expect(referenceAnswered).toBe(false);
  await sendMessages(suite.sqs, last.url, ['thirteenth']);
  await eventually(
    () => suite.collector.deliveries().some((r) => r.body === 'thirteenth'),
    'the 13th mapping delivers',
    { limitMs: 60_000 },
  );
  expect(referenceAnswered).toBe(false);
}
