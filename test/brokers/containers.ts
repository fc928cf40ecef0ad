import type { StartedTestContainer } from 'testcontainers';
import type { BrokerEndpoint, BrokerName } from './types.ts';

/**
 * The testcontainers path: where a container runtime answers (a developer's Docker/Podman, CI
 * with Docker), brokers run as containers on random mapped ports instead of from the local cache.
 * `testcontainers` is imported lazily so the local path never pays for loading it.
 *
 * Containers live as long as the process that started them: testcontainers' reaper (Ryuk) removes
 * them when that process exits, so SLUICE_KEEP_BROKERS=1 cannot keep them across runs.
 */

/** Images, pinned; override one with SLUICE_CONTAINER_IMAGE_<NAME> (e.g. …_KAFKA=apache/kafka:4.1.0). */
const IMAGES: Record<BrokerName, string> = {
  // Kafka 3.9 rather than 4.x: Kafka 4 drops old protocol versions some clients (kafkajs) still use.
  kafka: 'apache/kafka:3.9.1',
  sqs: 'softwaremill/elasticmq-native:1.7.1',
  rabbitmq: 'rabbitmq:3.13-management',
  // The last line of official MinIO images (they stopped publishing images in late 2025).
  minio: 'minio/minio:RELEASE.2025-09-07T16-13-09Z',
};

const RUNTIME_DETECT_TIMEOUT_MS = 10_000;
const START_TIMEOUT_MS = 180_000;
const KAFKA_READY_TIMEOUT_MS = 120_000;
/** RabbitMQ refuses `guest` from anything but loopback, and the host is not loopback to it. */
const RABBITMQ_USER = 'sluice';
const RABBITMQ_PASSWORD = 'sluice';
const MINIO_USER = 'minioadmin';
const MINIO_PASSWORD = 'minioadmin';

const started = new Map<BrokerName, StartedTestContainer>();
let runtimeAnswer: Promise<boolean> | undefined;

function image(name: BrokerName): string {
  return process.env[`SLUICE_CONTAINER_IMAGE_${name.toUpperCase()}`] ?? IMAGES[name];
}

function tagOf(imageName: string): string {
  const at = imageName.lastIndexOf(':');
  return at > imageName.lastIndexOf('/') ? imageName.slice(at + 1) : 'latest';
}

function rejectAfter(timeoutMs: number, what: string): Promise<never> {
  return new Promise((_, reject) => {
    setTimeout(
      () => reject(new Error(`${what} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    ).unref();
  });
}

/**
 * True only when a container runtime really answers, found by testcontainers' own strategies
 * (TESTCONTAINERS_HOST_OVERRIDE, DOCKER_HOST / ~/.testcontainers.properties, the Docker and
 * rootless sockets). A docker CLI without an engine has no socket, so this resolves false at once;
 * the timeout covers a configured runtime that never replies. Cached for the process.
 */
export function containerRuntimeAnswers(): Promise<boolean> {
  runtimeAnswer ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await Promise.race([
        getContainerRuntimeClient(),
        rejectAfter(RUNTIME_DETECT_TIMEOUT_MS, 'container runtime detection'),
      ]);
      return true;
    } catch {
      return false;
    }
  })();
  return runtimeAnswer;
}

/** Starts the broker's container (once per process) and returns how to reach it. */
export async function startContainer(name: BrokerName): Promise<BrokerEndpoint> {
  const existing = started.get(name);
  if (existing) return endpointOf(name, existing, false);
  const container = await START[name]();
  started.set(name, container);
  return endpointOf(name, container, true);
}

/** Stops the broker's container if this process started it. */
export async function stopContainer(name: BrokerName): Promise<void> {
  const container = started.get(name);
  if (!container) return;
  started.delete(name);
  await container.stop();
}

function endpointOf(
  name: BrokerName,
  c: StartedTestContainer,
  startedHere: boolean,
): BrokerEndpoint {
  const host = c.getHost();
  const base = { name, mode: 'container' as const, startedHere, version: tagOf(image(name)) };
  switch (name) {
    case 'kafka':
      return { ...base, kafkaBrokers: [`${host}:${c.getMappedPort(9092)}`] };
    case 'sqs':
      return { ...base, url: `http://${host}:${c.getMappedPort(9324)}`, region: 'us-east-1' };
    case 'rabbitmq':
      return {
        ...base,
        amqpUrl: `amqp://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@${host}:${c.getMappedPort(5672)}`,
        managementUrl: `http://${RABBITMQ_USER}:${RABBITMQ_PASSWORD}@${host}:${c.getMappedPort(15672)}`,
      };
    case 'minio':
      return {
        ...base,
        url: `http://${host}:${c.getMappedPort(9000)}`,
        region: 'us-east-1',
        accessKeyId: MINIO_USER,
        secretAccessKey: MINIO_PASSWORD,
      };
  }
}

const START: Record<BrokerName, () => Promise<StartedTestContainer>> = {
  kafka: startKafka,
  sqs: async () => {
    const { GenericContainer, Wait } = await import('testcontainers');
    return (
      new GenericContainer(image('sqs'))
        .withExposedPorts(9324)
        // node-address.host = "*" makes ElasticMQ build queue URLs from each request's Host header,
        // so they carry the mapped port rather than the container's 9324.
        .withCopyContentToContainer([{ content: ELASTICMQ_CONF, target: '/opt/elasticmq.conf' }])
        .withWaitStrategy(Wait.forLogMessage(/ElasticMQ server .* started/))
        .withStartupTimeout(START_TIMEOUT_MS)
        .start()
    );
  },
  rabbitmq: async () => {
    const { GenericContainer, Wait } = await import('testcontainers');
    return new GenericContainer(image('rabbitmq'))
      .withExposedPorts(5672, 15672)
      .withEnvironment({
        RABBITMQ_DEFAULT_USER: RABBITMQ_USER,
        RABBITMQ_DEFAULT_PASS: RABBITMQ_PASSWORD,
      })
      .withWaitStrategy(
        Wait.forAll([
          Wait.forLogMessage(/Server startup complete/),
          Wait.forHttp('/api/overview', 15672)
            .withBasicCredentials(RABBITMQ_USER, RABBITMQ_PASSWORD)
            .forStatusCode(200),
        ]),
      )
      .withStartupTimeout(START_TIMEOUT_MS)
      .start();
  },
  minio: async () => {
    const { GenericContainer, Wait } = await import('testcontainers');
    return new GenericContainer(image('minio'))
      .withExposedPorts(9000, 9001)
      .withEnvironment({ MINIO_ROOT_USER: MINIO_USER, MINIO_ROOT_PASSWORD: MINIO_PASSWORD })
      .withCommand(['server', '/data', '--console-address', ':9001'])
      .withWaitStrategy(Wait.forHttp('/minio/health/ready', 9000).forStatusCode(200))
      .withStartupTimeout(START_TIMEOUT_MS)
      .start();
  },
};

const ELASTICMQ_CONF = `include classpath("application.conf")
node-address { protocol = http, host = "*", port = 9324, context-path = "" }
rest-sqs { enabled = true, bind-port = 9324, bind-hostname = "0.0.0.0", sqs-limits = strict }
generate-node-address = false
aws { region = us-east-1, accountId = 000000000000 }
`;

const KAFKA_START_SCRIPT = '/tmp/sluice-kafka-start.sh';

/**
 * Kafka must advertise the address clients reach it at — the host and the *mapped* port, known
 * only after the container started. So the container first waits for a start script, which is
 * copied in once the port is known and then runs the image's own entry point (the approach of
 * testcontainers' Kafka modules). KRaft, one combined broker/controller node.
 */
async function startKafka(): Promise<StartedTestContainer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(image('kafka'))
    .withExposedPorts(9092)
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      // PLAINTEXT for the host (advertised with the mapped port), BROKER for inter-broker traffic.
      KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,BROKER://0.0.0.0:9093,CONTROLLER://0.0.0.0:9094',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP:
        'PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9094',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
    })
    .withEntrypoint(['sh', '-c'])
    .withCommand([
      `echo sluice-waiting-for-start-script; while [ ! -f ${KAFKA_START_SCRIPT} ]; do sleep 0.1; done; exec sh ${KAFKA_START_SCRIPT}`,
    ])
    .withWaitStrategy(Wait.forLogMessage('sluice-waiting-for-start-script'))
    .withStartupTimeout(START_TIMEOUT_MS)
    .start();
  try {
    const advertised = `PLAINTEXT://${container.getHost()}:${container.getMappedPort(9092)},BROKER://${container.getHostname()}:9093`;
    await container.copyContentToContainer([
      {
        content: `export KAFKA_ADVERTISED_LISTENERS='${advertised}'\nexec /etc/kafka/docker/run\n`,
        target: KAFKA_START_SCRIPT,
        mode: 0o755,
      },
    ]);
    await waitForKafka(`${container.getHost()}:${container.getMappedPort(9092)}`);
    return container;
  } catch (err) {
    await container.stop().catch(() => undefined);
    throw err;
  }
}

/** Ready when a real client sees the cluster (metadata through the advertised listener). */
async function waitForKafka(bootstrap: string): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({
    clientId: 'sluice-container-probe',
    brokers: [bootstrap],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  const deadline = Date.now() + KAFKA_READY_TIMEOUT_MS;
  for (;;) {
    try {
      await admin.connect();
      await admin.describeCluster();
      await admin.disconnect();
      return;
    } catch (err) {
      await admin.disconnect().catch(() => undefined);
      if (Date.now() > deadline) {
        throw new Error(
          `kafka container not ready after ${KAFKA_READY_TIMEOUT_MS} ms: ${String(err)}`,
          { cause: err },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
