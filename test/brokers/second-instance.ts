/**
 * A second, separate instance of ElasticMQ, Kafka or RabbitMQ for the chaos soak: its own ports
 * (the shared ones + 10 000, RabbitMQ + 100), data dir (`<BROKERS_HOME>/second/<name>`), pid file
 * and log (`second-<name>`). The soak kills and freezes it; the shared instances other tests use on
 * the default ports are never touched. Data is wiped at every `start()` of a fresh instance and at
 * `destroy()`; `restart()` keeps it (a broker back from a crash).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
import { classPathOf, resolveMaven } from './maven.ts';
import { brokerDir, logFile } from './paths.ts';
import { isAlive, portOpen, readPid, spawnDetached, stopPid, waitUntil } from './process.ts';
import { ELASTICMQ_VERSION } from './sqs.ts';
import { KAFKA_VERSION } from './kafka.ts';

const exec = promisify(execFile);
const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 120_000;
const CONF_DIR = fileURLToPath(new URL('./conf/', import.meta.url));

export type SecondBrokerName = 'sqs' | 'kafka' | 'rabbitmq';

export const SECOND_PORTS = {
  sqs: 29324,
  kafka: 29092,
  kafkaController: 29093,
  amqp: 5782,
  rabbitDist: 25782,
  rabbitEpmd: 14469,
} as const;

export interface SecondInstance {
  readonly name: SecondBrokerName;
  /** SQS endpoint URL, Kafka bootstrap `host:port` or AMQP URL. */
  readonly address: string;
  readonly logFile: string;
  /** Starts it on an empty data dir (wiping what an earlier run left). */
  start(): Promise<void>;
  /** Starts it again on its existing data (after `kill`). */
  restart(): Promise<void>;
  /** SIGKILL of its process group: a crash. */
  kill(): void;
  /** SIGSTOP / SIGCONT of its process group: a hang (the process is there, nothing answers). */
  freeze(): void;
  thaw(): void;
  /** Stops it (whatever state it is in) and removes its data. Idempotent. */
  destroy(): Promise<void>;
}

const pidName = (name: SecondBrokerName) => `second-${name}`;
const dataDir = (name: SecondBrokerName, ...parts: string[]) => brokerDir('second', name, ...parts);

function javaBin(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

function signalGroup(name: SecondBrokerName, signal: NodeJS.Signals): void {
  const pid = readPid(pidName(name));
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

async function waitGone(name: SecondBrokerName, limitMs = 15_000): Promise<void> {
  const pid = readPid(pidName(name));
  const deadline = Date.now() + limitMs;
  while (pid !== undefined && isAlive(pid) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
}

/** Shared shape: spawn(), probe() and the wipe/stop around them. */
function instance(
  name: SecondBrokerName,
  address: string,
  spawnIt: (fresh: boolean) => Promise<number>,
  probe: () => Promise<boolean>,
  afterStop: () => void = () => undefined,
): SecondInstance {
  const up = async (fresh: boolean) => {
    if (fresh) {
      await stopPid(pidName(name), 5_000);
      afterStop();
      rmSync(join(brokerDir('second'), name), { recursive: true, force: true });
    }
    const pid = await spawnIt(fresh);
    await waitUntil(pidName(name), probe, { timeoutMs: START_TIMEOUT_MS, pid, intervalMs: 300 });
  };
  return {
    name,
    address,
    logFile: logFile(pidName(name)),
    start: () => up(true),
    async restart() {
      signalGroup(name, 'SIGKILL');
      await waitGone(name);
      await up(false);
    },
    kill: () => signalGroup(name, 'SIGKILL'),
    freeze: () => signalGroup(name, 'SIGSTOP'),
    thaw: () => signalGroup(name, 'SIGCONT'),
    async destroy() {
      signalGroup(name, 'SIGCONT');
      signalGroup(name, 'SIGKILL');
      await waitGone(name);
      await stopPid(pidName(name), 1_000);
      afterStop();
      rmSync(join(brokerDir('second'), name), { recursive: true, force: true });
    },
  };
}

// --- ElasticMQ -----------------------------------------------------------------------------------

function elasticmqConf(): string {
  const port = SECOND_PORTS.sqs;
  return `include classpath("application.conf")
node-address { protocol = http, host = ${HOST}, port = ${port}, context-path = "" }
generate-node-address = false
rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "${HOST}", sqs-limits = strict }
rest-stats { enabled = false }
aws { region = us-east-1, accountId = 000000000000 }
`;
}

async function sqsAnswers(): Promise<boolean> {
  try {
    const res = await fetch(`http://${HOST}:${SECOND_PORTS.sqs}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.ListQueues',
      },
      body: '{}',
      signal: AbortSignal.timeout(2000),
    });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

export function secondSqs(): SecondInstance {
  return instance(
    'sqs',
    `http://${HOST}:${SECOND_PORTS.sqs}`,
    async () => {
      const lib = await resolveMaven({
        groupId: 'org.elasticmq',
        artifactId: 'elasticmq-server_2.13',
        version: ELASTICMQ_VERSION,
      });
      const conf = join(dataDir('sqs'), 'elasticmq.conf');
      writeFileSync(conf, elasticmqConf());
      return spawnDetached(
        pidName('sqs'),
        javaBin(),
        [
          '-Xms64m',
          '-Xmx384m',
          `-Dconfig.file=${conf}`,
          '-cp',
          classPathOf(lib),
          'org.elasticmq.server.Main',
        ],
        { cwd: dataDir('sqs') },
      );
    },
    sqsAnswers,
  );
}

// --- Kafka ---------------------------------------------------------------------------------------

const KAFKA_CLUSTER_ID = 'c2x1aWNlLXNvYWstMDAwMQ';

function kafkaConf(): string {
  const p = SECOND_PORTS;
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${HOST}:${p.kafkaController}`,
    'controller.listener.names=CONTROLLER',
    `listeners=PLAINTEXT://${HOST}:${p.kafka},CONTROLLER://${HOST}:${p.kafkaController}`,
    `advertised.listeners=PLAINTEXT://${HOST}:${p.kafka}`,
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${dataDir('kafka', 'data')}`,
    'num.partitions=4',
    'auto.create.topics.enable=true',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    '',
  ].join('\n');
}

async function kafkaAnswers(): Promise<boolean> {
  // An open port is not enough (the socket server accepts before the node joined its quorum):
  // ask for the cluster's brokers with kafkajs's admin, which the soak uses anyway.
  if (!(await portOpen(SECOND_PORTS.kafka, HOST))) return false;
  const { Kafka, logLevel } = await import('kafkajs');
  const admin = new Kafka({
    brokers: [`${HOST}:${SECOND_PORTS.kafka}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function secondKafka(): SecondInstance {
  return instance(
    'kafka',
    `${HOST}:${SECOND_PORTS.kafka}`,
    async (fresh) => {
      const lib = await resolveMaven({
        groupId: 'org.apache.kafka',
        artifactId: 'kafka_2.13',
        version: KAFKA_VERSION,
        extras: [
          {
            groupId: 'org.apache.logging.log4j',
            artifactId: 'log4j-slf4j-impl',
            version: '2.25.5',
          },
        ],
      });
      const jvm = [
        '-Xms128m',
        '-Xmx512m',
        `-Dlog4j2.configurationFile=${join(CONF_DIR, 'kafka-log4j2.xml')}`,
        '-cp',
        classPathOf(lib),
      ];
      const conf = join(dataDir('kafka'), 'server.properties');
      if (fresh) {
        writeFileSync(conf, kafkaConf());
        await exec(
          javaBin(),
          [...jvm, 'kafka.tools.StorageTool', 'format', '-t', KAFKA_CLUSTER_ID, '-c', conf],
          { timeout: 60_000 },
        );
      }
      return spawnDetached(pidName('kafka'), javaBin(), [...jvm, 'kafka.Kafka', conf], {
        cwd: dataDir('kafka'),
      });
    },
    kafkaAnswers,
  );
}

// --- RabbitMQ ------------------------------------------------------------------------------------

const RABBIT_USER = 'guest';

function rabbitEnv(): NodeJS.ProcessEnv {
  const home = dataDir('rabbitmq', 'home');
  const conf = join(dataDir('rabbitmq'), 'rabbitmq.conf');
  writeFileSync(
    conf,
    [
      'log.console = true',
      'log.console.level = warning',
      'log.file = false',
      'disk_free_limit.absolute = 50MB',
      '',
    ].join('\n'),
  );
  const plugins = join(dataDir('rabbitmq'), 'enabled_plugins');
  writeFileSync(plugins, '[].\n');
  const loopback = '-kernel inet_dist_use_interface {127,0,0,1}';
  return {
    ...process.env,
    HOME: home,
    RABBITMQ_NODENAME: 'sluice-second@localhost',
    RABBITMQ_USE_LONGNAME: 'false',
    RABBITMQ_NODE_IP_ADDRESS: HOST,
    RABBITMQ_NODE_PORT: String(SECOND_PORTS.amqp),
    RABBITMQ_DIST_PORT: String(SECOND_PORTS.rabbitDist),
    ERL_EPMD_PORT: String(SECOND_PORTS.rabbitEpmd),
    ERL_EPMD_ADDRESS: HOST,
    RABBITMQ_CONF_ENV_FILE: join(CONF_DIR, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: conf,
    RABBITMQ_ADVANCED_CONFIG_FILE: join(home, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: plugins,
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: loopback,
    RABBITMQ_CTL_ERL_ARGS: loopback,
    RABBITMQ_MNESIA_BASE: dataDir('rabbitmq', 'mnesia'),
    RABBITMQ_LOG_BASE: dataDir('rabbitmq', 'log'),
  };
}

const amqpAddress = `amqp://${RABBIT_USER}:${RABBIT_USER}@${HOST}:${SECOND_PORTS.amqp}`;

async function amqpAnswers(): Promise<boolean> {
  if (!(await portOpen(SECOND_PORTS.amqp, HOST))) return false;
  try {
    const connection = await connect(amqpAddress, { timeout: 2000 });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

/** The epmd the node started on our own port: a daemon outside the node's process group. */
function killOwnEpmd(): void {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('epmd')) continue;
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (env.includes(`ERL_EPMD_PORT=${SECOND_PORTS.rabbitEpmd}\0`))
        process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone, or not ours
    }
  }
}

export function secondRabbitmq(): SecondInstance {
  return instance(
    'rabbitmq',
    amqpAddress,
    async () =>
      spawnDetached(pidName('rabbitmq'), '/usr/lib/rabbitmq/bin/rabbitmq-server', [], {
        env: rabbitEnv(),
        cwd: dataDir('rabbitmq'),
      }),
    amqpAnswers,
    killOwnEpmd,
  );
}

export function secondInstance(name: SecondBrokerName): SecondInstance {
  return name === 'sqs' ? secondSqs() : name === 'kafka' ? secondKafka() : secondRabbitmq();
}
