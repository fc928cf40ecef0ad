import { execFile } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from 'amqplib';
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

/**
 * RabbitMQ from Debian's `rabbitmq-server` package, run as sluice's own node (never the packaged
 * system service): its own node name, ports, data, logs, Erlang cookie and epmd, all on 127.0.0.1,
 * so it neither clashes with nor depends on a RabbitMQ the machine may already run.
 */

const NAME = 'rabbitmq';
const HOST = '127.0.0.1';
/** Must match `management.tcp.port` in conf/rabbitmq-sluice.conf. */
const MANAGEMENT_PORT = 15682;
const AMQP_PORT = 5682;
/** Erlang distribution port; the default would be AMQP_PORT + 20000 too, set to be explicit. */
const DIST_PORT = 25682;
/** Our own epmd, so a system RabbitMQ's epmd (4369) is neither needed nor disturbed. */
const EPMD_PORT = 14369;
const NODE_NAME = 'sluice@localhost';
const LOOPBACK_DIST = '-kernel inet_dist_use_interface {127,0,0,1}';
const USER = 'guest';
const PASSWORD = 'guest';
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 2_000;

/**
 * The real scripts, not the /usr/sbin wrappers: those `su` to the `rabbitmq` user when run as root,
 * which drops our HOME (Erlang cookie) and would run the node with the system's data directory.
 */
const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';
const SERVER = join(RABBITMQ_BIN, 'rabbitmq-server');
const CTL = join(RABBITMQ_BIN, 'rabbitmqctl');
const CONF_DIR = fileURLToPath(new URL('./conf/', import.meta.url));
/** Debian's policy-rc.d hook: exit 101 tells maintainer scripts not to start services. */
const POLICY_RC_D = '/usr/sbin/policy-rc.d';

const exec = promisify(execFile);

const amqpUrl = `amqp://${USER}:${PASSWORD}@${HOST}:${AMQP_PORT}`;
/** Credentials in the URL so tests can call it directly (`fetch` needs them split out, see below). */
const managementUrl = `http://${USER}:${PASSWORD}@${HOST}:${MANAGEMENT_PORT}`;

/** Environment of both the server and `rabbitmqctl` (the CLI must find the same node and cookie). */
function nodeEnv(): NodeJS.ProcessEnv {
  const home = brokerDir(NAME, 'home');
  return {
    ...process.env,
    // Erlang reads and creates the distribution cookie in $HOME/.erlang.cookie.
    HOME: home,
    RABBITMQ_NODENAME: NODE_NAME,
    RABBITMQ_USE_LONGNAME: 'false',
    RABBITMQ_NODE_IP_ADDRESS: HOST,
    RABBITMQ_NODE_PORT: String(AMQP_PORT),
    RABBITMQ_DIST_PORT: String(DIST_PORT),
    ERL_EPMD_PORT: String(EPMD_PORT),
    ERL_EPMD_ADDRESS: HOST,
    RABBITMQ_CONF_ENV_FILE: join(CONF_DIR, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(CONF_DIR, 'rabbitmq-sluice.conf'),
    // No advanced.config: point away from /etc/rabbitmq so a system one is never picked up.
    RABBITMQ_ADVANCED_CONFIG_FILE: join(home, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(CONF_DIR, 'rabbitmq-enabled-plugins'),
    // Erlang distribution listens on all interfaces unless told otherwise; loopback only.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: LOOPBACK_DIST,
    RABBITMQ_CTL_ERL_ARGS: LOOPBACK_DIST,
    RABBITMQ_MNESIA_BASE: brokerDir(NAME, 'mnesia'),
    RABBITMQ_LOG_BASE: brokerDir(NAME, 'log'),
  };
}

async function managementGet(path: string): Promise<Response> {
  return fetch(`http://${HOST}:${MANAGEMENT_PORT}${path}`, {
    headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}` },
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
  });
}

/** The node's version when both the management API and an AMQP connection answer, else undefined. */
async function probe(): Promise<string | undefined> {
  if (!(await portOpen(AMQP_PORT, HOST))) return undefined;
  try {
    const res = await managementGet('/api/overview');
    if (!res.ok) return undefined;
    const overview = (await res.json()) as { rabbitmq_version?: string };
    const connection = await connect(amqpUrl, { timeout: PROBE_TIMEOUT_MS });
    await connection.close();
    return overview.rabbitmq_version ?? 'unknown';
  } catch {
    return undefined;
  }
}

function endpoint(version: string, startedHere: boolean): BrokerEndpoint {
  return {
    name: NAME,
    mode: 'local',
    startedHere,
    amqpUrl,
    managementUrl,
    version,
    logFile: logFile(NAME),
  };
}

async function install(): Promise<void> {
  if (existsSync(SERVER)) return;
  if (process.getuid?.() !== 0) {
    throw new BrokerStartError(
      NAME,
      `${SERVER} is missing; install Debian's rabbitmq-server package (apt-get install -y ` +
        'rabbitmq-server) or set SLUICE_TEST_RABBITMQ_URL to a running broker',
    );
  }
  // The package's maintainer scripts would start and enable the system service; we run our own
  // node instead, so forbid that unless the machine already has a policy in place (e.g. Docker's).
  const ownPolicy = !existsSync(POLICY_RC_D);
  if (ownPolicy)
    writeFileSync(POLICY_RC_D, '#!/bin/sh\n# sluice: do not start services\nexit 101\n', {
      mode: 0o755,
    });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // Other launchers may run apt-get at the same time; wait for the dpkg lock instead of failing.
    const lock = ['-o', 'DPkg::Lock::Timeout=600'];
    const log = logFile(NAME);
    try {
      await exec('apt-get', [...lock, 'update', '-qq'], { env, maxBuffer: 64 * 1024 * 1024 });
      await exec('apt-get', [...lock, 'install', '-y', '-qq', 'rabbitmq-server'], {
        env,
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      writeFileSync(log, `apt-get install rabbitmq-server failed:\n${e.stderr ?? e.message}\n`, {
        flag: 'a',
      });
      throw new BrokerStartError(NAME, 'apt-get install rabbitmq-server failed', log);
    }
  } finally {
    if (ownPolicy) rmSync(POLICY_RC_D, { force: true });
  }
  if (!existsSync(SERVER)) {
    throw new BrokerStartError(NAME, `rabbitmq-server installed but ${SERVER} is missing`);
  }
}

async function start(): Promise<BrokerEndpoint> {
  const running = await probe();
  if (running) return endpoint(running, false);
  // A node from an earlier run still booting: wait for it rather than start a second one.
  const earlier = readPid(NAME);
  if (earlier !== undefined) {
    await waitUntil(NAME, async () => (await probe()) !== undefined, {
      timeoutMs: START_TIMEOUT_MS,
      pid: earlier,
    });
    return endpoint((await probe()) ?? 'unknown', false);
  }
  if (await portOpen(AMQP_PORT, HOST)) {
    throw new BrokerStartError(
      NAME,
      `port ${AMQP_PORT} is taken by something that is not a RabbitMQ with management on ` +
        `${MANAGEMENT_PORT}`,
    );
  }
  await install();
  const pid = spawnDetached(NAME, SERVER, [], { env: nodeEnv(), cwd: brokerDir(NAME) });
  let version: string | undefined;
  await waitUntil(
    NAME,
    async () => {
      version = await probe();
      return version !== undefined;
    },
    { timeoutMs: START_TIMEOUT_MS, pid, intervalMs: 500 },
  );
  return endpoint(version ?? 'unknown', true);
}

async function stop(): Promise<void> {
  if (readPid(NAME) === undefined) return;
  // A clean shutdown flushes message stores; SIGTERM of the group (stopPid) is the fallback.
  await exec(CTL, ['stop'], { env: nodeEnv(), timeout: STOP_TIMEOUT_MS }).catch(() => undefined);
  await stopPid(NAME);
}

async function status(): Promise<BrokerEndpoint | undefined> {
  const version = await probe();
  return version ? endpoint(version, false) : undefined;
}

export const rabbitmqLauncher: BrokerLauncher = { name: NAME, install, start, stop, status };
