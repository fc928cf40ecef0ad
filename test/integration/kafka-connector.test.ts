import { Kafka, logLevel } from 'kafkajs';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig, loadConfigFromString } from '../../src/app/config.ts';
import type { SluiceConfig } from '../../src/config/types.ts';
import type { KafkaConnectionConfig } from '../../src/connections/connection-configs.ts';
import { kafkaConfig } from '../../src/connections/connections.ts';
import {
  KafkaConnector,
  KafkaFailureSink,
  KafkajsSourceClient,
  kafkaHandleOf,
  type KafkaEventRecord,
} from '../../connectors/kafka/index.ts';
import type { Connector, SourceRecord } from '../../src/connectors/types.ts';
import { isSluiceError } from '../../src/errors.ts';
import { createLogger, silentLogger } from '../../src/observability/logger.ts';
import { broker, uniqueName } from '../brokers/endpoints.ts';
import { KAFKA_SASL, KAFKA_TLS } from '../brokers/kafka.ts';
import { kafkaTlsFiles } from '../brokers/kafka-tls.ts';
import {
  describeConnectorConformance,
  type ConformanceHarness,
} from '../conformance/connector-conformance.ts';
import {
  kafkaClient,
  kafkaFixture,
  NO_RETRY_LIMITS,
  TEST_TUNING,
  type KafkaFixture,
} from './kafka-harness.ts';

const valueOf = (record: SourceRecord): string =>
  Buffer.from((record.event as { value?: string }).value ?? '', 'base64').toString('utf8');

async function kafkaHarness(): Promise<ConformanceHarness> {
  const f = await kafkaFixture(4);
  // Each publish lane gets its own partition, in order of first use ('' → partition 0).
  const partitionOf = new Map<string, number>();
  const partition = (lane: string) => {
    if (!partitionOf.has(lane)) partitionOf.set(lane, partitionOf.size % 4);
    return partitionOf.get(lane) as number;
  };
  return {
    connector: await f.open(),
    lanes: true,
    fetchWaitMs: 3000,
    publish: (bodies, { lane } = {}) => f.send(partition(lane ?? ''), bodies),
    bodyOf: valueOf,
    laneOf: (lane) => `${f.topic}-${partition(lane)}`,
    openConnector: () => f.open(),
    // A member holding records keeps them while it lives: "expiring" them is its crash. Stop
    // (without settling) every connector but the newest; their partitions move to it.
    expireReservations: async () => {
      await Promise.all(f.opened.slice(0, -1).map((c) => c.stop()));
    },
    failurePath: async () => (await f.readFailures()).map((r) => r.value),
    cleanup: () => f.cleanup(),
  };
}

describeConnectorConformance('kafka (kafkajs, real broker)', kafkaHarness);

async function collect(
  connector: Connector,
  count: number,
  settle = true,
): Promise<SourceRecord[]> {
  const out: SourceRecord[] = [];
  for (let i = 0; i < 40 && out.length < count; i++) {
    const batch = await connector.fetch({
      max: count - out.length,
      waitMs: 2000,
      signal: new AbortController().signal,
    });
    out.push(...batch);
    if (settle && batch.length > 0) {
      await connector.settle({ succeeded: batch, failed: [], dropped: [] });
    }
  }
  return out;
}

/** A started connector of the fixture's topic on a client built from a config's connection. */
function openFromConfig(f: KafkaFixture, config: SluiceConfig, name: string) {
  const c = config.connections[name];
  if (c?.type !== 'kafka') throw new Error(`no kafka connection ${name}`);
  const kc = c as KafkaConnectionConfig;
  const client = new Kafka({
    ...kafkaConfig(kc, silentLogger()),
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 3000,
  });
  return f.open({
    client: new KafkajsSourceClient(client),
    consumerGroupId: uniqueName(name),
    bootstrapServers: (c as KafkaConnectionConfig).bootstrapServers,
  });
}

describe('kafka connector', () => {
  it('builds the SelfManagedKafka event: topic-partition keys, base64, header byte arrays', async () => {
    const f = await kafkaFixture(2);
    onTestFinished(() => f.cleanup());
    await f.producer.send({
      topic: f.topic,
      messages: [
        { partition: 1, key: 'abc', value: 'Hello', headers: { headerKey: 'headerValue' } },
        { partition: 1, key: null, value: '{"n":1}' },
      ],
    });
    const connector = await f.open();
    const records = await collect(connector, 2, false);
    const event = JSON.parse(connector.buildEvent(records).toString('utf8')) as {
      eventSource: string;
      bootstrapServers: string;
      records: Record<string, KafkaEventRecord[]>;
    };
    expect(event.eventSource).toBe('SelfManagedKafka');
    expect(event.bootstrapServers).toBe((broker('kafka').kafkaBrokers ?? []).join(','));
    const list = event.records[`${f.topic}-1`] ?? [];
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({
      topic: f.topic,
      partition: 1,
      offset: 0,
      timestampType: 'CREATE_TIME',
      key: Buffer.from('abc').toString('base64'),
      value: Buffer.from('Hello').toString('base64'),
      headers: [{ headerKey: [...Buffer.from('headerValue')] }],
    });
    expect(typeof list[0]?.timestamp).toBe('number');
    expect(list[1]).not.toHaveProperty('key');
    expect(records.map((r) => r.id)).toEqual([`${f.topic}-1@0`, `${f.topic}-1@1`]);
    await connector.settle({ succeeded: records, failed: [], dropped: [] });
  });

  it('a restart resumes from the committed offsets: only the unsettled tail comes again', async () => {
    const f = await kafkaFixture(1);
    onTestFinished(() => f.cleanup());
    await f.send(0, ['r-0', 'r-1', 'r-2', 'r-3', 'r-4']);
    const first = await f.open();
    const records = await collect(first, 5, false);
    // Settled out of order: 0, 1 and 3 done, 2 never settled → commit stops at 2.
    const [r0, r1, r2, r3] = records;
    if (!r0 || !r1 || !r2 || !r3) throw new Error('expected 5 records');
    await first.settle({ succeeded: [r0, r1, r3], failed: [], dropped: [] });
    await first.stop();
    const committed = await f.admin.fetchOffsets({ groupId: f.groupId, topics: [f.topic] });
    expect(committed[0]?.partitions[0]?.offset).toBe('2');
    const second = await f.open();
    expect((await collect(second, 3)).map(valueOf)).toEqual(['r-2', 'r-3', 'r-4']);
  });

  it('a new group with AT_TIMESTAMP starts at the first record at or after the timestamp', async () => {
    const f = await kafkaFixture(2);
    onTestFinished(() => f.cleanup());
    // Record timestamps are set explicitly (CreateTime), a minute apart: no wall-clock gap needed.
    const from = Date.now();
    const at = (partition: number, value: string, timestampMs: number) => ({
      partition,
      value,
      timestamp: String(timestampMs),
    });
    await f.producer.send({
      topic: f.topic,
      messages: [
        at(0, 'before-0', from - 60_000),
        at(0, 'before-1', from - 60_000),
        at(1, 'before-2', from - 60_000),
        at(0, 'after-0', from),
        at(0, 'after-1', from + 1),
        at(1, 'after-2', from),
      ],
    });
    const connector = await f.open({
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestampMs: from,
    });
    const values = (await collect(connector, 3)).map(valueOf).sort();
    expect(values).toEqual(['after-0', 'after-1', 'after-2']);
  });

  it('a new group with LATEST skips what was there before it joined', async () => {
    const f = await kafkaFixture(1);
    onTestFinished(() => f.cleanup());
    await f.send(0, ['old-0', 'old-1', 'old-2']);
    const connector = await f.open({ startingPosition: 'LATEST' });
    // Probe until the consumer has its position (LATEST is resolved when it joins), then send.
    const seen: string[] = [];
    const fetchOnce = async () => {
      const batch = await connector.fetch({
        max: 10,
        waitMs: 1000,
        signal: new AbortController().signal,
      });
      if (batch.length > 0) await connector.settle({ succeeded: batch, failed: [], dropped: [] });
      seen.push(...batch.map(valueOf));
    };
    for (let i = 0; i < 60 && !seen.some((v) => v.startsWith('probe')); i++) {
      await f.send(0, [`probe-${i}`]);
      await fetchOnce();
    }
    await f.send(0, ['new-0', 'new-1']);
    for (let i = 0; i < 30 && !seen.includes('new-1'); i++) await fetchOnce();
    expect(seen.filter((v) => v.startsWith('old'))).toEqual([]);
    expect(seen.slice(-2)).toEqual(['new-0', 'new-1']);
  });

  it('keeps retry counts in the committed offset metadata, across a restart', async () => {
    const f = await kafkaFixture(1);
    onTestFinished(() => f.cleanup());
    await f.send(0, ['p-0', 'p-1']);
    const retry = { ...NO_RETRY_LIMITS, maximumRetryAttempts: 2 };
    const verdict = { succeeded: [], failed: [], functionError: true, reason: 'Error: boom' };
    const failOnce = async (connector: KafkaConnector) => {
      const batch = await collect(connector, 2, false);
      const decided = connector.applyFailurePolicy(batch, { ...verdict, failed: batch });
      await connector.settle({ succeeded: [], ...decided });
      await connector.flushCommits();
      return decided;
    };
    const first = await f.open({ retry, batchSize: 2 });
    expect((await failOnce(first)).dropped).toEqual([]);
    await first.stop();
    const committed = await f.admin.fetchOffsets({ groupId: f.groupId, topics: [f.topic] });
    expect(committed[0]?.partitions[0]?.metadata).toContain('"a":1');

    const second = await f.open({ retry, batchSize: 2 });
    expect((await failOnce(second)).dropped).toEqual([]); // attempt 2 (of 1 + 2)
    const third = await failOnce(second); // attempt 3: exhausted
    expect(third.dropped.map((d) => d.reason)).toEqual(['RetriesExhausted', 'RetriesExhausted']);
    const failures = await f.readFailures();
    expect(failures.map((x) => x.value)).toEqual(['p-0', 'p-1']);
    expect(failures[0]?.body).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      responseContext: { statusCode: 200, functionError: 'Unhandled' },
      KafkaBatchInfo: { batchSize: 1 },
    });
    const after = await f.admin.fetchOffsets({ groupId: f.groupId, topics: [f.topic] });
    expect(after[0]?.partitions[0]?.offset).toBe('2');
  });

  it('authenticates with SASL/PLAIN', async () => {
    const f = await kafkaFixture(1);
    onTestFinished(() => f.cleanup());
    await f.send(0, ['secret-1']);
    const client = kafkaClient({
      brokers: [...KAFKA_SASL.brokers],
      sasl: { mechanism: 'plain', username: KAFKA_SASL.username, password: KAFKA_SASL.password },
    });
    const connector = await f.open({ client: new KafkajsSourceClient(client) });
    expect(connector.health().ok).toBe(true);
    expect((await collect(connector, 1)).map(valueOf)).toEqual(['secret-1']);
  });

  it('authenticates with SASL/SCRAM-SHA-256 and SCRAM-SHA-512 from YAML, password from env', async () => {
    const f = await kafkaFixture(1);
    onTestFinished(() => f.cleanup());
    await f.send(0, ['scram-1']);
    const config = loadConfigFromString(
      ['256', '512']
        .map(
          (bits) =>
            `  scram-${bits}: { type: kafka, bootstrapServers: [${KAFKA_SASL.brokers[0]}], ` +
            `sasl: { mechanism: scram-sha-${bits}, username: ${KAFKA_SASL.username}, password: '\${KAFKA_PASSWORD}' } }`,
        )
        .join('\n')
        .replace(/^/, 'connections:\n'),
      { env: { KAFKA_PASSWORD: KAFKA_SASL.password } },
    );
    for (const name of ['scram-256', 'scram-512']) {
      // A group per mechanism, so each one reads the record from the start.
      const connector = await openFromConfig(f, config, name);
      expect(connector.health().ok).toBe(true);
      expect((await collect(connector, 1)).map(valueOf)).toEqual(['scram-1']);
      await connector.stop();
    }
  });

  it('never writes the SASL password to the logs, kafkajs debug output and errors included', async () => {
    const f = await kafkaFixture(1);
    onTestFinished(() => f.cleanup());
    await f.send(0, ['quiet']);
    const lines: string[] = [];
    const logger = createLogger({
      level: 'debug',
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      }),
    });
    const yaml = (password: string) =>
      `connections:\n  scram: { type: kafka, bootstrapServers: [${KAFKA_SASL.brokers[0]}], ` +
      `sasl: { mechanism: scram-sha-512, username: ${KAFKA_SASL.username}, password: '${password}' } }`;
    const open = async (password: string) => {
      const c = loadConfigFromString(yaml(password)).connections.scram;
      if (c?.type !== 'kafka') throw new Error('no kafka connection');
      // kafkajs at debug, bridged into the engine's logger, as a curious operator would set it.
      const client = new Kafka({
        ...kafkaConfig(c as KafkaConnectionConfig, logger),
        logLevel: logLevel.DEBUG,
      });
      // The engine's own lines carry the connection config too, where a mistake would show it.
      logger.info({ connection: c }, 'opening a Kafka connection');
      return f.open({
        client: new KafkajsSourceClient(client),
        consumerGroupId: uniqueName('quiet'),
        bootstrapServers: (c as KafkaConnectionConfig).bootstrapServers,
        logger,
      });
    };
    const connector = await open(KAFKA_SASL.password);
    expect((await collect(connector, 1)).map(valueOf)).toEqual(['quiet']);
    await connector.stop();
    const wrong = 'wrong-Pa55word-xyz';
    await expect(open(wrong)).rejects.toThrow();
    const text = lines.join('');
    expect(lines.length).toBeGreaterThan(20); // kafkajs did talk
    expect(text).not.toContain(KAFKA_SASL.password);
    expect(text).not.toContain(wrong);
  });

  it('TLS and mTLS from a YAML connection: PEM paths relative to the config file', async () => {
    const f = await kafkaFixture(1);
    onTestFinished(() => f.cleanup());
    await f.send(0, ['over-tls']);
    const tls = kafkaTlsFiles();
    const dir = mkdtempSync(join(tmpdir(), 'sluice-kafka-tls-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'certs'));
    copyFileSync(tls.caFile, join(dir, 'certs', 'ca.pem'));
    copyFileSync(tls.clientCertFile, join(dir, 'certs', 'client.pem'));
    copyFileSync(tls.clientKeyFile, join(dir, 'certs', 'client.key'));
    const file = join(dir, 'sluice.yaml');
    writeFileSync(
      file,
      [
        'connections:',
        `  tls: { type: kafka, bootstrapServers: [${KAFKA_TLS.brokers[0]}], ssl: { ca: certs/ca.pem } }`,
        `  mtls:`,
        `    type: kafka`,
        `    bootstrapServers: [${KAFKA_TLS.mtlsBrokers[0]}]`,
        '    ssl: { ca: certs/ca.pem, cert: certs/client.pem, key: certs/client.key }',
        `  mtls-no-cert: { type: kafka, bootstrapServers: [${KAFKA_TLS.mtlsBrokers[0]}], ssl: { ca: certs/ca.pem } }`,
        `  untrusted: { type: kafka, bootstrapServers: [${KAFKA_TLS.brokers[0]}], ssl: true }`,
        '',
      ].join('\n'),
    );
    const config = await loadConfig(file, {});
    const open = (name: string) => openFromConfig(f, config, name);
    for (const name of ['tls', 'mtls']) {
      const connector = await open(name);
      expect(connector.health().ok).toBe(true);
      expect((await collect(connector, 1)).map(valueOf)).toEqual(['over-tls']);
      await connector.stop();
    }
    // The mTLS listener refuses a client without a certificate; an unknown CA is refused by us.
    for (const name of ['mtls-no-cert', 'untrusted']) {
      const error = await open(name).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSluiceError(error, 'CONNECTOR')).toBe(true);
      expect(String((error as Error).message)).toContain('TLS with Kafka brokers');
    }
  });

  it('bad credentials, a missing topic and unreachable brokers leave health not ok', async () => {
    const open = async (topic: string, brokers: string[], password?: string) => {
      const connector = new KafkaConnector({
        name: 'bad',
        topic,
        consumerGroupId: uniqueName('bad-group'),
        startingPosition: 'TRIM_HORIZON',
        bootstrapServers: brokers,
        retry: NO_RETRY_LIMITS,
        client: new KafkajsSourceClient(
          kafkaClient({
            brokers,
            retry: { retries: 0 },
            connectionTimeout: 1000,
            ...(password
              ? { sasl: { mechanism: 'plain', username: KAFKA_SASL.username, password } }
              : {}),
          }),
        ),
        failureSink: new KafkaFailureSink({
          destination: undefined,
          functionArn: 'arn',
          bootstrapServers: brokers.join(','),
          logger: silentLogger(),
        }),
        tuning: TEST_TUNING,
      });
      onTestFinished(() => connector.stop());
      const error = await connector.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSluiceError(error, 'CONNECTOR')).toBe(true);
      expect((error as { canRetry: boolean }).canRetry).toBe(true);
      expect(String((error as Error).message)).not.toContain('wrong-password');
      return connector.health();
    };
    const sasl = await open(uniqueName('any'), [...KAFKA_SASL.brokers], 'wrong-password');
    expect(sasl).toMatchObject({ ok: false, reason: 'EVENT_SOURCE_AUTHN_ERROR' });
    const missing = await open(uniqueName('missing'), broker('kafka').kafkaBrokers ?? []);
    expect(missing).toMatchObject({ ok: false, reason: 'EVENT_SOURCE_NOT_FOUND' });
    const down = await open(uniqueName('down'), ['127.0.0.1:1']);
    expect(down).toMatchObject({ ok: false, reason: 'EVENT_SOURCE_UNREACHABLE' });
  });

  it('hands a partition to one batch at a time and keeps the others flowing', async () => {
    const f = await kafkaFixture(2);
    onTestFinished(() => f.cleanup());
    await f.send(0, ['a-0', 'a-1']);
    await f.send(1, ['b-0', 'b-1']);
    const connector = await f.open();
    const signal = new AbortController().signal;
    let first: SourceRecord[] = [];
    for (let i = 0; i < 10 && first.length === 0; i++) {
      first = await connector.fetch({ max: 2, waitMs: 2000, signal });
    }
    const lane = first[0]?.lane;
    expect(new Set(first.map((r) => r.lane)).size).toBe(1);
    // While `first` is out, its partition gives nothing; the other partition does.
    const second = await collect(connector, 2, false);
    expect(second.every((r) => r.lane !== lane)).toBe(true);
    expect(kafkaHandleOf(second[0] as SourceRecord).offset).toBe(0n);
    await connector.settle({ succeeded: [...first, ...second], failed: [], dropped: [] });
  });
});
