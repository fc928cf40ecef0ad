/**
 * Runs a RabbitMQ mapping the way the engine does — the registry's bundle, a real `MappingRunner`,
 * a real `Invoker` and a real Node function in an execution environment — for the RabbitMQ
 * integration tests. The function is written to a temporary folder; it appends the bodies it
 * handled to `OUT_FILE` (one line each, one write per batch) so a test can count them.
 */
import { DestinationFactory } from '../../src/destinations/destination-factory.ts';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { rabbitMqBundle } from '../../connectors/rabbitmq/index.ts';
import type { RabbitMqMappingConfig } from '../../connectors/rabbitmq/rabbitmq-config.ts';
import type { SluiceConfig } from '../../src/config/types.ts';
import { SOURCE_PLUGINS } from '../../src/app/plugins.ts';
import type { ConnectionBase } from '../../src/connectors/plugin.ts';
import { ConnectionRegistry } from '../../src/connections/connections.ts';
import { runnerSettings } from '../../src/engine/mapping-manager.ts';
import { MappingRunner } from '../../src/engine/mapping-runner.ts';
import { ConcurrencyController } from '../../src/invoker/concurrency.ts';
import { createEnvironment } from '../../src/invoker/environment.ts';
import { EnvironmentPool } from '../../src/invoker/environment-pool.ts';
import { Invoker } from '../../src/invoker/invoker.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { MappingMetrics } from '../../src/observability/mapping-metrics.ts';
import { rabbit } from './rabbitmq-helpers.ts';
import { tempDir, writeNodeFunction } from '../support/temp.ts';

/**
 * MODE ok: record every body. MODE poison: bodies starting with `poison` are reported in
 * batchItemFailures (by messageId) and logged to ATTEMPTS_FILE; the others are recorded.
 * MODE hang: records the bodies, then never finishes (a batch held mid-flight).
 * MODE fail-once: the first batch holding FAIL_BODY throws (marker file), later ones succeed.
 * HEADERS_FILE (optional): each record's `basicProperties.headers`, one JSON line per record.
 */
export const FUNCTION_SOURCE = `
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
export const handler = async (event) => {
  const records = Object.values(event.rmqMessagesByQueue).flat();
  const bodies = records.map((r) => Buffer.from(r.data, 'base64').toString('utf8'));
  const delay = Number(process.env.DELAY_MS || 0);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  const lines = (list) => list.map((b) => b + '\\n').join('');
  if (process.env.HEADERS_FILE) {
    const seen = records.map((r) => JSON.stringify(r.basicProperties.headers) + '\\n').join('');
    appendFileSync(process.env.HEADERS_FILE, seen);
  }
  if (process.env.MODE === 'hang') {
    appendFileSync(process.env.OUT_FILE, lines(bodies));
    await new Promise((resolve) => setTimeout(resolve, 120000));
  }
  if (process.env.MODE === 'poison') {
    const poison = bodies.filter((b) => b.startsWith('poison'));
    if (poison.length > 0) appendFileSync(process.env.ATTEMPTS_FILE, lines(poison));
    appendFileSync(process.env.OUT_FILE, lines(bodies.filter((b) => !b.startsWith('poison'))));
    return {
      batchItemFailures: records
        .filter((_, i) => bodies[i].startsWith('poison'))
        .map((r) => ({ itemIdentifier: r.basicProperties.messageId })),
    };
  }
  if (process.env.MODE === 'fail-once' && bodies.includes(process.env.FAIL_BODY)) {
    const marker = process.env.OUT_FILE + '.failed';
    if (!existsSync(marker)) {
      writeFileSync(marker, 'x');
      throw new Error('failing once on purpose');
    }
  }
  appendFileSync(process.env.OUT_FILE, lines(bodies));
  return {};
};
`;

export interface EngineRun {
  runner: MappingRunner;
  outFile: string;
  attemptsFile: string;
  /** Stops the runner, the environments and the connections (files stay readable). */
  stop(): Promise<void>;
  /** `stop()`, then removes the files. */
  dispose(): Promise<void>;
  /** Lines the function wrote to OUT_FILE so far. */
  processed(): string[];
  attempts(): string[];
}

export interface EngineRunOptions {
  queue: string;
  name: string;
  batchSize: number;
  maximumConcurrency: number;
  maximumBatchingWindowMs?: number;
  maximumRetryAttempts?: number;
  reportBatchItemFailures?: boolean;
  env?: Record<string, string>;
}

export async function startEngineRun(o: EngineRunOptions): Promise<EngineRun> {
  const dir = tempDir('rmqtest-').path;
  const codeDir = writeNodeFunction(dir, FUNCTION_SOURCE, 'fn');
  const outFile = join(dir, 'out.txt');
  const attemptsFile = join(dir, 'attempts.txt');
  writeFileSync(outFile, '');
  writeFileSync(attemptsFile, '');

  const logger = process.env.RMQ_TEST_LOG
    ? (await import('pino')).pino({ level: process.env.RMQ_TEST_LOG })
    : silentLogger();
  const functionName = `fn-${o.name}`.slice(0, 64);
  const pool = new EnvironmentPool({ createEnvironment, onLog: () => undefined, logger });
  const invoker = new Invoker({
    concurrency: new ConcurrencyController({ engineLimit: 64, reserved: {}, minimumUnreserved: 0 }),
    pool,
    logger,
  });
  invoker.register({
    name: functionName,
    runtime: 'nodejs22.x',
    handler: 'index.handler',
    codeDir,
    memorySizeMb: 256,
    timeoutMs: 30_000,
    environment: { OUT_FILE: outFile, ATTEMPTS_FILE: attemptsFile, ...o.env },
    region: 'us-east-1',
    accountId: '000000000000',
    idleTimeoutMs: 60_000,
  });
  const mapping: RabbitMqMappingConfig = {
    type: 'rabbitmq',
    name: o.name,
    functionName,
    enabled: true,
    batchSize: o.batchSize,
    maximumBatchingWindowMs: o.maximumBatchingWindowMs ?? 100,
    filters: [],
    reportBatchItemFailures: o.reportBatchItemFailures ?? false,
    maximumConcurrency: o.maximumConcurrency,
    adaptiveConcurrency: true,
    pollerGrowthFactor: 2,
    pollers: undefined,
    source: { connection: 'rmq', queue: o.queue, virtualHost: '/' },
    maximumRetryAttempts: o.maximumRetryAttempts ?? Number.POSITIVE_INFINITY,
    onFailure: undefined,
  };
  const connections = new ConnectionRegistry(
    { rmq: { type: 'rabbitmq', name: 'rmq', url: rabbit().amqpUrl } as ConnectionBase },
    logger,
  );
  const config = {
    region: 'us-east-1',
    accountId: '000000000000',
    connections: { rmq: { type: 'rabbitmq', name: 'rmq', url: rabbit().amqpUrl } },
  } as unknown as SluiceConfig;
  // Function destinations need the engine's async queue; these mappings use broker ones only.
  const destinations = new DestinationFactory(
    connections,
    {
      enqueue: () => Promise.reject(new Error('no async queue here')),
    },
    SOURCE_PLUGINS,
  );
  const bundle = rabbitMqBundle(mapping, { config, logger, destinations });
  const runner = new MappingRunner({
    settings: { ...runnerSettings(mapping, SOURCE_PLUGINS), idleWaitMs: bundle.idleWaitMs ?? 2000 },
    connector: bundle.connector,
    invoker,
    ...(bundle.failurePolicy ? { failurePolicy: bundle.failurePolicy } : {}),
    ...(bundle.identify ? { identify: bundle.identify } : {}),
    logger,
    metrics: new MappingMetrics(new Registry()),
    retryMinMs: 100,
    retryMaxMs: 1000,
  });
  await runner.start();
  const read = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await runner.stop(10_000);
      await pool.stop();
      await connections.stop();
    })());
  return {
    runner,
    outFile,
    attemptsFile,
    processed: () => read(outFile),
    attempts: () => read(attemptsFile),
    stop,
    dispose: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
