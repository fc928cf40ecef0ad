/**
 * The AWS CLI v2 as the fidelity tests drive it: Debian's `awscli` package at /usr/bin/aws, called
 * by its full path (an `aws` earlier on PATH may be a pip-installed v1). The integration global
 * set-up installs it when missing (as root, like the broker launchers install their packages);
 * elsewhere a missing CLI fails with what to install — the tests never skip.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const AWS_CLI = '/usr/bin/aws';

/** `aws-cli/2.9.19 …`, or undefined when /usr/bin/aws is missing or not a v2. */
export function awsCliVersion(): string | undefined {
  if (!existsSync(AWS_CLI)) return undefined;
  const version = execFileSync(AWS_CLI, ['--version'], { encoding: 'utf8' }).trim();
  return version.startsWith('aws-cli/2.') ? version : undefined;
}

/** Installs Debian's awscli (AWS CLI v2) when /usr/bin/aws is not a v2; returns its version. */
export async function ensureAwsCli(): Promise<string> {
  const present = awsCliVersion();
  if (present) return present;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `${AWS_CLI} (AWS CLI v2) is missing: install Debian's awscli package (apt-get install -y awscli)`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Other launchers may run apt-get at the same time; wait for the dpkg lock instead of failing.
  const lock = ['-o', 'DPkg::Lock::Timeout=600'];
  const maxBuffer = 64 * 1024 * 1024;
  await exec('apt-get', [...lock, 'update', '-qq'], { env, maxBuffer });
  await exec('apt-get', [...lock, 'install', '-y', '-qq', 'awscli'], { env, maxBuffer });
  const installed = awsCliVersion();
  if (!installed) throw new Error(`apt-get install awscli did not leave a v2 CLI at ${AWS_CLI}`);
  return installed;
}

export interface AwsCliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON. */
  json: unknown;
}

/**
 * Runs `aws lambda <args>` against a sluice API on loopback with dummy credentials and no
 * retries (the CLI cannot send a bearer token: the engine under test runs without one). Resolves
 * with the exit code whatever it is.
 */
export async function awsLambda(endpoint: string, args: readonly string[]): Promise<AwsCliResult> {
  if (!awsCliVersion()) await ensureAwsCli();
  const argv = ['lambda', ...args, '--endpoint-url', endpoint, '--region', 'us-east-1'];
  argv.push('--no-cli-pager', '--output', 'json');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    AWS_ACCESS_KEY_ID: 'sluice',
    AWS_SECRET_ACCESS_KEY: 'sluice',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_MAX_ATTEMPTS: '1',
    AWS_RETRY_MODE: 'standard',
    AWS_PAGER: '',
  };
  try {
    const { stdout, stderr } = await exec(AWS_CLI, argv, { env, timeout: 120_000 });
    return { exitCode: 0, stdout, stderr, json: parseJson(stdout) };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    const stdout = e.stdout ?? '';
    return { exitCode: e.code, stdout, stderr: e.stderr ?? '', json: parseJson(stdout) };
  }
}

function parseJson(text: string): unknown {
  try {
    return text.trim() === '' ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined;
  }
}
