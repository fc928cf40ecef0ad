import { Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildKafkaBundle } from '../../connectors/kafka/kafka-bundle.ts';
import { KafkaConnector } from '../../connectors/kafka/kafka-connector.ts';
import { tuningFromEnv } from '../../connectors/kafka/kafka-tuning.ts';
import type { KafkaMappingConfig } from '../../connectors/kafka/kafka-config.ts';
import { SOURCE_PLUGINS } from '../../src/app/plugins.ts';
import { ConnectionRegistry } from '../../src/connections/connections.ts';
import { DestinationFactory } from '../../src/destinations/destination-factory.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { load, RESIZE, yaml } from '../fixtures/config/problems.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('kafka bundle', () => {
  it("tuning: a mapping's own keys beat the environment, which beats the defaults", async () => {
    vi.stubEnv('SLUICE_KAFKA_SESSION_TIMEOUT_MS', '20000');
    vi.stubEnv('SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS', '2000');
    vi.stubEnv('SLUICE_KAFKA_COMMIT_INTERVAL_MS', '0');
    const config = load(
      yaml(
        ...RESIZE,
        'connections:',
        '  kafka: { type: kafka, bootstrapServers: [127.0.0.1:9092] }',
        'mappings:',
        '  - name: own',
        '    function: resize',
        '    source: { connection: kafka, topic: t, sessionTimeoutMs: 10000, commitIntervalMs: 500 }',
        '  - name: inherits',
        '    function: resize',
        '    source: { connection: kafka, topic: t }',
      ),
    );
    const logger = silentLogger();
    // Clients are created here but never connect: nothing below talks to a broker.
    const connections = new ConnectionRegistry(config.connections, logger);
    const deps = {
      config,
      connections,
      logger,
      metricsRegistry: new Registry(),
      destinations: new DestinationFactory(
        connections,
        {
          enqueue: () => Promise.reject(new Error('unused')),
        },
        SOURCE_PLUGINS,
      ),
    };
    const tuningOf = (index: number) => {
      const bundle = buildKafkaBundle(config.mappings[index] as KafkaMappingConfig, deps);
      expect(bundle.connector).toBeInstanceOf(KafkaConnector);
      return (bundle.connector as KafkaConnector).tuning;
    };
    expect(tuningOf(0)).toMatchObject({
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 2000,
      commitIntervalMs: 500,
    });
    expect(tuningOf(1)).toMatchObject({
      sessionTimeoutMs: 20_000,
      heartbeatIntervalMs: 2000,
      commitIntervalMs: 0,
    });
    vi.unstubAllEnvs();
    expect(tuningOf(1)).toMatchObject({
      sessionTimeoutMs: 30_000,
      heartbeatIntervalMs: 3000,
      commitIntervalMs: 100,
    });
    await connections.stop();
  });

  it('SLUICE_KAFKA_COMMIT_INTERVAL_MS out of the YAML range, or not a number, is ignored', () => {
    for (const value of ['3600000', '-1', 'soon', '']) {
      expect(tuningFromEnv({ SLUICE_KAFKA_COMMIT_INTERVAL_MS: value }).commitIntervalMs).toBe(
        undefined,
      );
    }
    expect(tuningFromEnv({ SLUICE_KAFKA_COMMIT_INTERVAL_MS: '60000' }).commitIntervalMs).toBe(
      60_000,
    );
  });
});
