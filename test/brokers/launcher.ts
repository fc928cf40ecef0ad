import type { BrokerEndpoint, BrokerLauncher, BrokerName } from './types.ts';
import { kafkaLauncher } from './kafka.ts';
import { sqsLauncher } from './sqs.ts';
import { rabbitmqLauncher } from './rabbitmq.ts';
import { minioLauncher } from './minio.ts';
import { containerRuntimeAnswers, startContainer } from './containers.ts';

export const ALL_BROKERS: readonly BrokerName[] = ['kafka', 'sqs', 'rabbitmq', 'minio'];

export const launchers: Record<BrokerName, BrokerLauncher> = {
  kafka: kafkaLauncher,
  sqs: sqsLauncher,
  rabbitmq: rabbitmqLauncher,
  minio: minioLauncher,
};

/**
 * A broker the user already runs, named by an environment variable, wins over everything:
 *   SLUICE_TEST_KAFKA_BROKERS=host:port[,host:port]   SLUICE_TEST_SQS_ENDPOINT=http://…
 *   SLUICE_TEST_RABBITMQ_URL=amqp://user:pass@host:port (+ SLUICE_TEST_RABBITMQ_MANAGEMENT_URL)
 *   SLUICE_TEST_S3_ENDPOINT=http://… (+ SLUICE_TEST_S3_ACCESS_KEY / SLUICE_TEST_S3_SECRET_KEY)
 */
export function externalEndpoint(name: BrokerName, env = process.env): BrokerEndpoint | undefined {
  switch (name) {
    case 'kafka':
      return env.SLUICE_TEST_KAFKA_BROKERS
        ? {
            name,
            mode: 'external',
            startedHere: false,
            kafkaBrokers: env.SLUICE_TEST_KAFKA_BROKERS.split(','),
          }
        : undefined;
    case 'sqs':
      return env.SLUICE_TEST_SQS_ENDPOINT
        ? {
            name,
            mode: 'external',
            startedHere: false,
            url: env.SLUICE_TEST_SQS_ENDPOINT,
            region: 'us-east-1',
          }
        : undefined;
    case 'rabbitmq':
      return env.SLUICE_TEST_RABBITMQ_URL
        ? {
            name,
            mode: 'external',
            startedHere: false,
            amqpUrl: env.SLUICE_TEST_RABBITMQ_URL,
            managementUrl: env.SLUICE_TEST_RABBITMQ_MANAGEMENT_URL,
          }
        : undefined;
    case 'minio':
      return env.SLUICE_TEST_S3_ENDPOINT
        ? {
            name,
            mode: 'external',
            startedHere: false,
            url: env.SLUICE_TEST_S3_ENDPOINT,
            region: 'us-east-1',
            accessKeyId: env.SLUICE_TEST_S3_ACCESS_KEY ?? 'minioadmin',
            secretAccessKey: env.SLUICE_TEST_S3_SECRET_KEY ?? 'minioadmin',
          }
        : undefined;
  }
}

/** Starts (or finds) the named brokers in parallel: external → container runtime → local launcher. */
export async function startBrokers(
  names: readonly BrokerName[] = ALL_BROKERS,
): Promise<Record<string, BrokerEndpoint>> {
  const useContainers =
    process.env.SLUICE_BROKERS_MODE !== 'local' && (await containerRuntimeAnswers());
  const entries = await Promise.all(
    names.map(async (name) => {
      const external = externalEndpoint(name);
      if (external) return [name, external] as const;
      if (useContainers) return [name, await startContainer(name)] as const;
      const launcher = launchers[name];
      await launcher.install();
      return [name, await launcher.start()] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** Stops what `startBrokers` started in this run (local processes and containers). */
export async function stopBrokers(endpoints: Record<string, BrokerEndpoint>): Promise<void> {
  await Promise.allSettled(
    Object.values(endpoints)
      .filter((e) => e.startedHere)
      .map((e) =>
        e.mode === 'container'
          ? import('./containers.ts').then((c) => c.stopContainer(e.name))
          : launchers[e.name].stop(),
      ),
  );
}
