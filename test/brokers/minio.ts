import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
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
 * MinIO built from source through the Go module proxy (no prebuilt binary can be downloaded here),
 * served on 127.0.0.1 with its data in the cache.
 *
 * Webhook notification targets — how a test receives MinIO's bucket notifications:
 * they are declared with MinIO's `MINIO_NOTIFY_WEBHOOK_*_<ID>` environment variables when the
 * server starts, and `startMinio({ webhooks })` restarts our MinIO when the requested set differs
 * from the one it runs with (a restart takes seconds; data survives it). The run-time alternative,
 * `mc admin config set notify_webhook…`, was rejected: mc is not installed, the admin config API
 * wants bodies encrypted with MinIO's own Argon2id/DARE scheme (nothing in node_modules does that),
 * and MinIO needs a restart to load notify targets set that way anyway.
 * Verified against the pinned build: a target whose endpoint is unreachable does not stop MinIO
 * from starting (it is initialised lazily), the ARN is `arn:minio:sqs::<ID>:webhook` (no region
 * is configured), and the token is sent as `Authorization: Bearer <token>`.
 */

const NAME = 'minio';
const HOST = '127.0.0.1';
const API_PORT = 19000;
const CONSOLE_PORT = 19001;
/**
 * MinIO publishes `RELEASE.<date>` tags, which the Go module proxy does not serve (they are not
 * semver), so the pin is the pseudo-version of the last master commit (2026-02-12), which builds
 * with Go 1.26. Changing it rebuilds on the next install().
 */
export const MINIO_VERSION = 'v0.0.0-20260212201848-7aac2a2c5b7c';
const MODULE = 'github.com/minio/minio';
const ROOT_USER = process.env.SLUICE_MINIO_ROOT_USER ?? 'minioadmin';
const ROOT_PASSWORD = process.env.SLUICE_MINIO_ROOT_PASSWORD ?? 'minioadmin';
const REGION = 'us-east-1';
/** The S3 endpoint of the MinIO this launcher runs. */
export const MINIO_URL = `http://${HOST}:${API_PORT}`;
const START_TIMEOUT_MS = 60_000;
const BUILD_TIMEOUT_MS = 30 * 60_000;
const PROBE_TIMEOUT_MS = 2_000;

const exec = promisify(execFile);
const binDir = (): string => brokerDir(NAME, 'bin');
const binary = (): string => join(binDir(), 'minio');
/** Records which pin the binary was built from, so a changed pin rebuilds. */
const builtPinFile = (): string => join(binDir(), 'minio.pin');
/** The webhook targets the running server was started with (its env is not readable later). */
const runningTargetsFile = (): string => join(brokerDir(NAME), 'webhooks.json');

/** A webhook notification target MinIO POSTs bucket events to. */
export interface MinioWebhookTarget {
  /** Target id (letters, digits, `_`); the target's ARN is `webhookArn(id)`. */
  id: string;
  /** Where MinIO POSTs events, e.g. `http://127.0.0.1:41234/events`. */
  endpoint: string;
  /** Sent as `Authorization: Bearer <token>` (as is when it already has a scheme: `Basic …`). */
  authToken?: string;
  /**
   * Keep undelivered events on disk and retry them (MinIO's `queue_dir`, in the cache). Default
   * false: events for an endpoint that is down are dropped, which suits tests that own their
   * listener; events survive MinIO restarts only with this on.
   */
  queue?: boolean;
}

export interface StartMinioOptions {
  /**
   * Webhook targets MinIO must run with. Omitted: any running MinIO is reused as it is. Given
   * (even empty): a MinIO we started with a different set is restarted with exactly this set.
   */
  webhooks?: MinioWebhookTarget[];
}

/** The ARN to put in a bucket notification configuration for a webhook target. */
export function webhookArn(id: string): string {
  return `arn:minio:sqs::${id}:webhook`;
}

function targetsEnv(targets: readonly MinioWebhookTarget[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const t of targets) {
    env[`MINIO_NOTIFY_WEBHOOK_ENABLE_${t.id}`] = 'on';
    env[`MINIO_NOTIFY_WEBHOOK_ENDPOINT_${t.id}`] = t.endpoint;
    if (t.authToken) env[`MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_${t.id}`] = t.authToken;
    if (t.queue) env[`MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_${t.id}`] = brokerDir(NAME, 'queue', t.id);
  }
  return env;
}

function validateTargets(targets: readonly MinioWebhookTarget[]): void {
  const seen = new Set<string>();
  for (const t of targets) {
    if (!/^[A-Za-z0-9_]+$/.test(t.id)) {
      throw new Error(`minio webhook id must match [A-Za-z0-9_]+, got '${t.id}'`);
    }
    if (seen.has(t.id)) throw new Error(`minio webhook id '${t.id}' is given twice`);
    seen.add(t.id);
    if (!/^https?:\/\//.test(t.endpoint)) {
      throw new Error(
        `minio webhook '${t.id}' endpoint must be an http(s) URL, got '${t.endpoint}'`,
      );
    }
  }
}

/** Order-independent key of a target set, to compare what runs with what is asked for. */
function targetsKey(targets: readonly MinioWebhookTarget[]): string {
  return JSON.stringify(
    [...targets]
      .map((t) => [t.id, t.endpoint, t.authToken ?? '', t.queue === true])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  );
}

function runningTargets(): MinioWebhookTarget[] {
  try {
    return JSON.parse(readFileSync(runningTargetsFile(), 'utf8')) as MinioWebhookTarget[];
  } catch {
    return [];
  }
}

/** True when MinIO answers a signed S3 request (ListBuckets) with our credentials. */
async function probe(): Promise<boolean> {
  if (!(await portOpen(API_PORT, HOST))) return false;
  const s3 = new S3Client({
    endpoint: MINIO_URL,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: ROOT_USER, secretAccessKey: ROOT_PASSWORD },
    maxAttempts: 1,
  });
  try {
    await s3.send(new ListBucketsCommand({}), {
      abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    return true;
  } catch {
    return false;
  } finally {
    s3.destroy();
  }
}

function endpoint(startedHere: boolean): BrokerEndpoint {
  return {
    name: NAME,
    mode: 'local',
    startedHere,
    url: MINIO_URL,
    region: REGION,
    accessKeyId: ROOT_USER,
    secretAccessKey: ROOT_PASSWORD,
    version: MINIO_VERSION,
    logFile: logFile(NAME),
  };
}

function goBinary(): string {
  // The Go toolchain is usually not on a non-login PATH; /usr/local/go is where it is installed.
  return existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
}

async function install(): Promise<void> {
  if (existsSync(binary()) && readPinSafe() === MINIO_VERSION) return;
  const log = logFile(NAME);
  writeFileSync(log, `\n=== ${new Date().toISOString()} go install ${MODULE}@${MINIO_VERSION}\n`, {
    flag: 'a',
  });
  try {
    const { stderr } = await exec(goBinary(), ['install', `${MODULE}@${MINIO_VERSION}`], {
      // A static binary needs no C toolchain; -buildvcs=false because there is no VCS checkout.
      env: { ...process.env, GOBIN: binDir(), CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
      timeout: BUILD_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
    writeFileSync(log, stderr, { flag: 'a' });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    writeFileSync(log, `${e.stderr ?? ''}\n${e.message}\n`, { flag: 'a' });
    throw new BrokerStartError(NAME, `go install ${MODULE}@${MINIO_VERSION} failed`, log);
  }
  writeFileSync(builtPinFile(), MINIO_VERSION);
}

function readPinSafe(): string | undefined {
  try {
    return readFileSync(builtPinFile(), 'utf8').trim();
  } catch {
    return undefined;
  }
}

async function spawnMinio(targets: readonly MinioWebhookTarget[]): Promise<BrokerEndpoint> {
  if (await portOpen(API_PORT, HOST)) {
    throw new BrokerStartError(NAME, `port ${API_PORT} is taken by something that is not MinIO`);
  }
  await install();
  // Inherited MINIO_* variables (a developer's own MinIO set-up) must not change our server.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('MINIO_')),
  );
  const pid = spawnDetached(
    NAME,
    binary(),
    [
      'server',
      brokerDir(NAME, 'data'),
      '--address',
      `${HOST}:${API_PORT}`,
      '--console-address',
      `${HOST}:${CONSOLE_PORT}`,
    ],
    {
      cwd: brokerDir(NAME),
      env: {
        ...env,
        MINIO_ROOT_USER: ROOT_USER,
        MINIO_ROOT_PASSWORD: ROOT_PASSWORD,
        // No phoning home for updates, no usage reports: the machine has no outside network.
        MINIO_UPDATE: 'off',
        MINIO_CALLHOME_ENABLE: 'off',
        ...targetsEnv(targets),
      },
    },
  );
  writeFileSync(runningTargetsFile(), JSON.stringify(targets));
  await waitUntil(NAME, probe, { timeoutMs: START_TIMEOUT_MS, pid });
  return endpoint(true);
}

/** Serialises starts and restarts inside one process (two tests must not restart it at once). */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Starts MinIO (or reuses the running one) with the given webhook targets; see `StartMinioOptions`.
 * A MinIO that this launcher did not start (no pid file) cannot be given new targets.
 */
export function startMinio(options: StartMinioOptions = {}): Promise<BrokerEndpoint> {
  const run = async (): Promise<BrokerEndpoint> => {
    const wanted = options.webhooks;
    if (wanted) validateTargets(wanted);
    if (await probe()) {
      if (!wanted || targetsKey(wanted) === targetsKey(runningTargets())) return endpoint(false);
      if (readPid(NAME) === undefined) {
        throw new BrokerStartError(
          NAME,
          `MinIO on ${HOST}:${API_PORT} was not started by this launcher, so its webhook ` +
            'targets cannot be changed; stop it or let the launcher start MinIO',
        );
      }
      await stopPid(NAME);
      return spawnMinio(wanted);
    }
    const earlier = readPid(NAME);
    if (earlier !== undefined) {
      // Started by another run and still booting: wait for it, then apply the wanted targets.
      await waitUntil(NAME, probe, { timeoutMs: START_TIMEOUT_MS, pid: earlier });
      if (!wanted || targetsKey(wanted) === targetsKey(runningTargets())) return endpoint(false);
      await stopPid(NAME);
    }
    return spawnMinio(wanted ?? []);
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

async function stop(): Promise<void> {
  // MinIO shuts down cleanly on SIGTERM.
  await stopPid(NAME);
}

async function status(): Promise<BrokerEndpoint | undefined> {
  return (await probe()) ? endpoint(false) : undefined;
}

export const minioLauncher: BrokerLauncher = {
  name: NAME,
  install,
  start: () => startMinio(),
  stop,
  status,
};
