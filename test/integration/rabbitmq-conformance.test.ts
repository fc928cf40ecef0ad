/**
 * The connector conformance suite against the real RabbitMQ: a classic queue read in order
 * (concurrency 1, Lambda's retry-forever) and a quorum queue read in parallel with bounded retries.
 * Each queue has a dead-letter exchange, which is where dropped records must land.
 *
 * Messages are published with a `messageId`: that is the record id batchItemFailures names, and the
 * suite checks that a failed record comes back under the same id (a delivery tag would not).
 * A "crashed" connector is simulated by closing its connection and refusing its reconnects.
 */
import { connect, type ChannelModel } from 'amqplib';
import { RabbitMqConnector } from '../../connectors/rabbitmq/index.ts';
import type { SourceRecord } from '../../src/connectors/types.ts';
import {
  describeConnectorConformance,
  type ConformanceHarness,
} from '../conformance/connector-conformance.ts';
import { createQueue, rabbit } from './rabbitmq-helpers.ts';

interface Opened {
  connector: RabbitMqConnector;
  connections: ChannelModel[];
  dead: boolean;
}

function harness(type: 'classic' | 'quorum'): () => Promise<ConformanceHarness> {
  return async () => {
    const q = await createQueue({ type, prefix: `conf-${type}` });
    const opened: Opened[] = [];
    let seq = 0;
    const open = async () => {
      const entry: Opened = {
        connector: undefined as unknown as RabbitMqConnector,
        connections: [],
        dead: false,
      };
      entry.connector = new RabbitMqConnector({
        mapping: {
          name: q.queue,
          source: { queue: q.queue, virtualHost: '/' },
          batchSize: 10,
          maximumConcurrency: type === 'classic' ? 1 : 4,
          maximumRetryAttempts: type === 'classic' ? Number.POSITIVE_INFINITY : 5,
        },
        url: rabbit().amqpUrl,
        eventSourceArn: 'arn:aws:mq:us-east-1:000000000000:broker:conformance:sluice',
        retryMinMs: 100,
        retryMaxMs: 500,
        connect: async (url, name) => {
          if (entry.dead)
            throw Object.assign(new Error('simulated crash'), { code: 'ECONNREFUSED' });
          const c = await connect(url, { clientProperties: { connection_name: name } });
          entry.connections.push(c);
          return c;
        },
      });
      opened.push(entry);
      await entry.connector.start();
      return entry.connector;
    };
    const connector = await open();
    return {
      connector,
      lanes: false,
      publish: (bodies) => q.publish(bodies, (body) => ({ messageId: `${body}#${++seq}` })),
      bodyOf: (record: SourceRecord) =>
        Buffer.from(String(record.event.data), 'base64').toString('utf8'),
      openConnector: open,
      // Connectors other than the newest one "crash": their connections close (the broker requeues
      // what they held) and they never reconnect.
      expireReservations: async () => {
        for (const entry of opened.slice(0, -1)) {
          if (entry.dead) continue;
          entry.dead = true;
          await Promise.all(entry.connections.map((c) => c.close().catch(() => undefined)));
        }
      },
      failurePath: async () => (q.dlq ? (await q.drain(q.dlq)).map((m) => m.body) : []),
      cleanup: async () => {
        await Promise.all(opened.map((e) => e.connector.stop()));
        await q.cleanup();
      },
    };
  };
}

describeConnectorConformance('rabbitmq (classic queue, ordered)', harness('classic'));
describeConnectorConformance(
  'rabbitmq (quorum queue, parallel, bounded retries)',
  harness('quorum'),
);
