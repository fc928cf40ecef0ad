import { Kafka, logLevel } from 'kafkajs';
import type { BrokerEndpoint } from '../../test/brokers/types.ts';
import { mappingCounts, type DemoSource } from './types.ts';

const TOPIC = 'demo-clicks';
const CLICKS = 6000;

function kafka(brokers: Record<string, BrokerEndpoint>): Kafka {
  return new Kafka({
    clientId: 'sluice-demo',
    brokers: brokers.kafka?.kafkaBrokers ?? [],
    logLevel: logLevel.NOTHING,
  });
}

/** Page clicks into a 3-partition Kafka topic, keyed by user so each user's clicks stay in order. */
export const kafkaSource: DemoSource = {
  label: 'Kafka clicks',
  brokers: ['kafka'],
  env: (brokers) => ({ SLUICE_KAFKA_BROKERS: (brokers.kafka?.kafkaBrokers ?? []).join(',') }),
  counts: (text) => mappingCounts(text, 'clicks'),
  async prepare(brokers) {
    const admin = kafka(brokers).admin();
    await admin.connect();
    const topics = await admin.listTopics();
    if (!topics.includes(TOPIC)) {
      await admin.createTopics({
        topics: [{ topic: TOPIC, numPartitions: 3 }],
        waitForLeaders: true,
      });
    }
    await admin.disconnect();
  },
  async send(brokers, onSent) {
    // The mapping starts at LATEST: wait until its consumer group has joined, so no click is
    // sent before the group has a position.
    const admin = kafka(brokers).admin();
    await admin.connect();
    for (let i = 0; i < 100; i++) {
      const group = await admin.describeGroups(['sluice-demo-clicks']);
      if (group.groups[0]?.state === 'Stable') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await admin.disconnect();
    const producer = kafka(brokers).producer();
    await producer.connect();
    for (let i = 0; i < CLICKS; i += 500) {
      const messages = Array.from({ length: 500 }, (_, j) => ({
        key: `user-${(i + j) % 97}`,
        value: JSON.stringify({ page: `/page/${(i + j) % 13}`, at: Date.now() }),
      }));
      await producer.send({ topic: TOPIC, messages });
      onSent(messages.length);
    }
    await producer.disconnect();
    return { sent: CLICKS, expected: CLICKS };
  },
};
