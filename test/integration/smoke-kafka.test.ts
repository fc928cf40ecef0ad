import { Kafka, Partitioners, logLevel, type Consumer, type KafkaConfig } from 'kafkajs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { broker, uniqueName } from '../brokers/endpoints.ts';
import { KAFKA_SASL } from '../brokers/kafka.ts';

const PARTITIONS = 4;
const MESSAGES = 40;

function client(overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'sluice-smoke',
    brokers: broker('kafka').kafkaBrokers ?? [],
    logLevel: logLevel.WARN,
    ...overrides,
  });
}

/** Runs `consumer` until `done` says so; resolves with what it saw, per partition. */
async function consumeUntil(
  consumer: Consumer,
  done: (seen: { partition: number; offset: string; key: string }[]) => boolean,
) {
  const seen: { partition: number; offset: string; key: string }[] = [];
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => {
          seen.push({ partition, offset: message.offset, key: message.key?.toString() ?? '' });
          if (done(seen)) resolve();
        },
      })
      .catch(reject);
  });
  return seen;
}

describe('kafka smoke (kafkajs against the real broker)', () => {
  it('produces keyed messages, consumes them in a group, and resumes from committed offsets', async () => {
    const kafka = client();
    const topic = uniqueName('smoke-topic');
    const groupId = uniqueName('smoke-group');

    const admin = kafka.admin();
    await admin.connect();
    onTestFinished(async () => {
      await admin.deleteGroups([groupId]).catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    });
    expect(
      await admin.createTopics({
        topics: [{ topic, numPartitions: PARTITIONS }],
        waitForLeaders: true,
      }),
    ).toBe(true);

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    onTestFinished(() => producer.disconnect());
    await producer.send({
      topic,
      messages: Array.from({ length: MESSAGES }, (_, i) => ({ key: `key-${i}`, value: `v${i}` })),
    });
    const highWatermarks = new Map(
      (await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]),
    );
    // Keys spread over partitions, so the group really consumes from more than one.
    expect([...highWatermarks.values()].filter((n) => n > 0).length).toBeGreaterThan(1);

    const first = kafka.consumer({ groupId });
    await first.connect();
    onTestFinished(() => first.disconnect());
    await first.subscribe({ topic, fromBeginning: true });
    const seen = await consumeUntil(first, (s) => s.length >= MESSAGES);

    expect(new Set(seen.map((m) => m.key)).size).toBe(MESSAGES);
    const perPartition = new Map<number, number>();
    for (const m of seen) perPartition.set(m.partition, (perPartition.get(m.partition) ?? 0) + 1);
    for (const [partition, high] of highWatermarks) {
      expect(perPartition.get(partition) ?? 0, `partition ${partition}`).toBe(high);
    }

    // Commit explicitly (auto-commit is off): the next offset to read on every partition.
    await first.commitOffsets(
      [...highWatermarks].map(([partition, high]) => ({
        topic,
        partition,
        offset: String(high),
      })),
    );
    await first.disconnect();
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(
      new Map(committed?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []),
    ).toEqual(highWatermarks);

    // A new member of the same group starts at the committed offsets: of everything on the topic
    // it sees only a marker produced after the restart, never the 40 already-committed messages.
    const second = kafka.consumer({ groupId });
    await second.connect();
    onTestFinished(() => second.disconnect());
    await second.subscribe({ topic, fromBeginning: true });
    const afterRestart = consumeUntil(second, (s) => s.some((m) => m.key === 'marker'));
    await producer.send({ topic, messages: [{ key: 'marker', value: 'after restart' }] });
    expect((await afterRestart).map((m) => m.key)).toEqual(['marker']);
  });

  it('authenticates with SASL/PLAIN on the SASL listener (local broker only)', async (ctx) => {
    if (broker('kafka').mode !== 'local') ctx.skip();
    const admin = client({
      brokers: [...KAFKA_SASL.brokers],
      sasl: {
        mechanism: KAFKA_SASL.mechanism,
        username: KAFKA_SASL.username,
        password: KAFKA_SASL.password,
      },
    }).admin();
    await admin.connect();
    onTestFinished(() => admin.disconnect());
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.length).toBe(1);

    const wrong = client({
      brokers: [...KAFKA_SASL.brokers],
      sasl: { mechanism: 'plain', username: KAFKA_SASL.username, password: 'not-the-password' },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    }).admin();
    onTestFinished(() => wrong.disconnect());
    await expect(wrong.connect()).rejects.toThrow(/SASL PLAIN authentication failed/);
  });
});
