import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classPathOf, resolveMaven } from './maven.ts';
import { brokerDir, logFile } from './paths.ts';
import { readPid, spawnDetached, stopPid, waitUntil } from './process.ts';
import type { BrokerEndpoint, BrokerLauncher } from './types.ts';

/** ElasticMQ speaks both SQS protocols (query and the AWS JSON one today's SDK v3 uses). */
export const ELASTICMQ_VERSION = '1.7.1';
const HOST = '127.0.0.1';
const PORT = 19324;
const URL_BASE = `http://${HOST}:${PORT}`;
const REGION = 'us-east-1';
const START_TIMEOUT_MS = 60_000;

const confFile = fileURLToPath(new URL('./conf/elasticmq.conf', import.meta.url));
const artifact = {
  groupId: 'org.elasticmq',
  artifactId: 'elasticmq-server_2.13',
  version: ELASTICMQ_VERSION,
};

function endpoint(startedHere: boolean): BrokerEndpoint {
  return {
    name: 'sqs',
    mode: 'local',
    url: URL_BASE,
    region: REGION,
    startedHere,
    logFile: logFile('sqs'),
    version: `elasticmq ${ELASTICMQ_VERSION}`,
  };
}

function javaBin(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

export const sqsLauncher: BrokerLauncher = {
  name: 'sqs',

  async install() {
    await resolveMaven(artifact);
  },

  async start() {
    if (await listQueuesAnswers()) return endpoint(false);
    // A server we launched earlier may still be starting: wait for it instead of racing it.
    let pid = readPid('sqs');
    if (pid === undefined) {
      const lib = await resolveMaven(artifact);
      pid = spawnDetached(
        'sqs',
        javaBin(),
        [
          '-Xms64m',
          '-Xmx256m',
          '-Djava.awt.headless=true',
          `-Dconfig.file=${confFile}`,
          '-cp',
          classPathOf(lib),
          'org.elasticmq.server.Main',
        ],
        { cwd: brokerDir('sqs') },
      );
    }
    await waitUntil('sqs', listQueuesAnswers, { timeoutMs: START_TIMEOUT_MS, pid });
    return endpoint(true);
  },

  async stop() {
    await stopPid('sqs');
  },

  async status() {
    return (await listQueuesAnswers()) ? endpoint(false) : undefined;
  },
};

/**
 * True when the server answers ListQueues in the AWS JSON protocol — the one @aws-sdk/client-sqs
 * sends — rather than merely accepting connections (the HTTP binding comes up before the queue
 * manager actor does).
 */
export async function listQueuesAnswers(timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`${URL_BASE}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.ListQueues',
      },
      body: '{}',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
