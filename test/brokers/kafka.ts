import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { kafkaTlsFiles } from './kafka-tls.ts';
import { classPathOf, resolveMaven } from './maven.ts';
import { brokerDir, logFile } from './paths.ts';
import {
  BrokerStartError,
  portOpen,
  readPid,
  spawnDetached,
  stopPid,
  waitUntil,
} from './process.ts';
import type { BrokerEndpoint, BrokerLauncher } from './types.ts';

const execFileAsync = promisify(execFile);

/**
 * Kafka 4.x because that is what new clusters run; kafkajs 2.2.4 was checked against it (produce,
 * consumer groups, offset commits, admin) — see test/integration/smoke-kafka.test.ts.
 */
export const KAFKA_VERSION = '4.4.0';
const HOST = '127.0.0.1';
const PORT = 19092;
const SASL_PORT = 19094;
/** Any fixed 16-byte UUID (base64url of 'sluice-kafka-dev'): the data dir is formatted once. */
const CLUSTER_ID = 'c2x1aWNlLWthZmthLWRldg';
/** Cold JVM + KRaft election + first metadata publish; a warm start takes a few seconds. */
const START_TIMEOUT_MS = 120_000;
const FORMAT_TIMEOUT_MS = 60_000;
const HEAP_OPTS = ['-Xms256m', '-Xmx768m'];

/**
 * The SASL_PLAINTEXT listener and its one user, for connector tests that must authenticate. The
 * same name and password work with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.
 */
export const KAFKA_SASL = {
  brokers: [`${HOST}:${SASL_PORT}`],
  mechanism: 'plain',
  username: 'sluice',
  password: 'sluice-secret',
} as const;

/** TLS listeners: server certificate only, and one that requires a client certificate. */
export const KAFKA_TLS = {
  brokers: [`${HOST}:19095`],
  mtlsBrokers: [`${HOST}:19096`],
} as const;

const SCRAM_USERS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => [
  '--add-scram',
  `${mechanism}=[name=${KAFKA_SASL.username},password=${KAFKA_SASL.password}]`,
]);

const confDir = fileURLToPath(new URL('./conf/', import.meta.url));
const artifact = { groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version: KAFKA_VERSION };
// kafka_2.13 depends on slf4j-api and log4j-core but not the bridge between them; without it the
// broker logs nothing at all and a failed start has no log tail worth showing.
const extras = [
  { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j-impl', version: '2.25.5' },
];

function endpoint(startedHere: boolean): BrokerEndpoint {
  return {
    name: 'kafka',
    mode: 'local',
    kafkaBrokers: [`${HOST}:${PORT}`],
    startedHere,
    logFile: logFile('kafka'),
    version: KAFKA_VERSION,
  };
}

function javaBin(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** server.properties with this machine's data and TLS dirs. */
function serverConfig(): string {
  const template = readFileSync(join(confDir, 'kafka-server.properties'), 'utf8');
  return template
    .replaceAll('${LOG_DIRS}', brokerDir('kafka', 'data'))
    .replaceAll('${TLS_DIR}', kafkaTlsFiles().dir);
}

/** Writes server.properties; returns its path. */
function writeServerConfig(text: string): string {
  const file = join(brokerDir('kafka'), 'server.properties');
  writeFileSync(file, text);
  return file;
}

/**
 * What the data dir was formatted for: the config and the format arguments. A broker cache from an
 * older launcher (no SCRAM users, other listeners) is stopped, wiped and formatted again rather than
 * reused with settings the tests do not expect.
 */
function configVersion(text: string): string {
  return createHash('sha256').update(text).update(SCRAM_USERS.join(' ')).digest('hex');
}

const versionFile = (): string => join(brokerDir('kafka'), 'config-version');

function formattedVersion(): string | undefined {
  try {
    return readFileSync(versionFile(), 'utf8').trim();
  } catch {
    return undefined;
  }
}

function jvmArgs(lib: string): string[] {
  return [
    ...HEAP_OPTS,
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${join(confDir, 'kafka-log4j2.xml')}`,
    '-cp',
    classPathOf(lib),
  ];
}

/**
 * Formats the KRaft data dir on first start only (formatting twice is an error), or again when the
 * config version changed. SCRAM credentials are part of the format: they live in the metadata log.
 */
async function formatStorage(lib: string, config: string, version: string): Promise<void> {
  const data = brokerDir('kafka', 'data');
  if (existsSync(join(data, 'meta.properties'))) {
    if (formattedVersion() === version) return;
    rmSync(data, { recursive: true, force: true });
    brokerDir('kafka', 'data');
  }
  try {
    await execFileAsync(
      javaBin(),
      [
        ...jvmArgs(lib),
        'kafka.tools.StorageTool',
        'format',
        '-t',
        CLUSTER_ID,
        '-c',
        config,
        ...SCRAM_USERS,
      ],
      { timeout: FORMAT_TIMEOUT_MS },
    );
    writeFileSync(versionFile(), `${version}\n`);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new BrokerStartError(
      'kafka',
      `storage format failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
    );
  }
}

export const kafkaLauncher: BrokerLauncher = {
  name: 'kafka',

  async install() {
    await resolveMaven({ ...artifact, extras });
  },

  async start() {
    const text = serverConfig();
    const version = configVersion(text);
    let pid = readPid('kafka');
    // Ours but formatted for other settings: stop it; the data dir is formatted again below.
    if (pid !== undefined && formattedVersion() !== version) {
      await stopPid('kafka', 30_000);
      pid = undefined;
    }
    if (await metadataAnswers()) return endpoint(false);
    // A broker we launched earlier may still be starting: wait for it instead of racing it.
    if (pid === undefined) {
      const lib = await resolveMaven({ ...artifact, extras });
      const config = writeServerConfig(text);
      await formatStorage(lib, config, version);
      pid = spawnDetached('kafka', javaBin(), [...jvmArgs(lib), 'kafka.Kafka', config], {
        cwd: brokerDir('kafka'),
      });
    }
    await waitUntil('kafka', metadataAnswers, { timeoutMs: START_TIMEOUT_MS, pid });
    return endpoint(true);
  },

  async stop() {
    // Controlled shutdown of a KRaft node takes a few seconds; allow it before SIGKILL.
    await stopPid('kafka', 30_000);
  },

  async status() {
    return (await metadataAnswers()) ? endpoint(false) : undefined;
  },
};

/**
 * True when the broker answers a Metadata request listing at least one broker. An open port is not
 * enough: the socket server accepts connections before the node has joined its own quorum. Spoken
 * by hand (Metadata v4, the oldest version Kafka 4 still accepts) so readiness does not depend on
 * the client library the tests are checking.
 */
export async function metadataAnswers(timeoutMs = 2000): Promise<boolean> {
  if (!(await portOpen(PORT, HOST, timeoutMs))) return false;
  return new Promise((resolve) => {
    const socket = createConnection({ host: HOST, port: PORT });
    let received = Buffer.alloc(0);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write(metadataRequest()));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const size = received.readInt32BE(0);
      if (received.length < 4 + size) return;
      done(brokerCount(received.subarray(4, 4 + size)) > 0);
    });
  });
}

const METADATA_API_KEY = 3;
const METADATA_VERSION = 4;
const CORRELATION_ID = 1;

function metadataRequest(): Buffer {
  const clientId = Buffer.from('sluice-probe');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 1);
  let o = 0;
  o = body.writeInt16BE(METADATA_API_KEY, o);
  o = body.writeInt16BE(METADATA_VERSION, o);
  o = body.writeInt32BE(CORRELATION_ID, o);
  o = body.writeInt16BE(clientId.length, o);
  o += clientId.copy(body, o);
  o = body.writeInt32BE(0, o); // topics: empty array — brokers only, no auto-creation
  body.writeInt8(0, o); // allow_auto_topic_creation: false
  const frame = Buffer.alloc(4);
  frame.writeInt32BE(body.length);
  return Buffer.concat([frame, body]);
}

/** Metadata v4 response: correlation id, throttle_time_ms, then the brokers array's length. */
function brokerCount(response: Buffer): number {
  if (response.length < 12 || response.readInt32BE(0) !== CORRELATION_ID) return 0;
  return response.readInt32BE(8);
}
