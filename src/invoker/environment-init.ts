import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { RuntimeApiServer, type RuntimeApiListener } from '../runtime-api/runtime-api-server.ts';
import {
  describeExit,
  describeSpawnError,
  spawnProcess,
  type ChildHandle,
} from './environment-process.ts';
import { listExtensions } from './extension-files.ts';
import { interruptionError, type Interruption } from './invoke-result.ts';
import { buildLambdaEnv, logStreamName } from './lambda-env-vars.ts';
import { initReportLine } from './log-lines.ts';
import type { PlatformLog } from './platform-log.ts';
import type { MemoryWatch } from './memory-watch.ts';
import * as platform from './platform-errors.ts';
import { resolveRuntime, type RuntimeLaunch } from './runtimes/runtimes.ts';
import { canUseSpare, takeSpare } from './spare-processes.ts';
import type { EnvironmentOptions, FunctionErrorBody } from './types.ts';

/**
 * The INIT phase of an execution environment: its temp folder and Runtime API server, the
 * external extensions, then the runtime (spawned, or a warm spare taken), waiting until each is
 * ready, and deciding whether INIT failed and how (init error, crash, timeout).
 */

const DEFAULT_INIT_TIMEOUT_MS = 10_000;

/**
 * What INIT starts. The environment holds it from the beginning and INIT fills it in as each piece
 * starts, so that an OOM kill or a shutdown during INIT reaches every process already running.
 */
export interface Sandbox {
  tmpDir: string | undefined;
  api: RuntimeApiServer | undefined;
  runtime: ChildHandle | undefined;
  readonly extensions: Array<{ name: string; child: ChildHandle }>;
}

/** What the runtime posted to `/init/error`. */
export interface PostedInitError {
  body: Buffer;
  errorType: string | undefined;
}

/** Init failure kept for the first invoke ("suppressed init"). */
export type InitFailure = (requestId: string) => { error: FunctionErrorBody; payload?: Buffer };

/** The environment as INIT sees it. */
export interface InitHost {
  readonly options: EnvironmentOptions;
  /** Receives the Runtime API server's events (the environment itself). */
  readonly listener: RuntimeApiListener;
  readonly sandbox: Sandbox;
  readonly memory: MemoryWatch;
  /** The first interruption so far, if any. */
  interruption(): Interruption | undefined;
  initErrorPosted(): PostedInitError | undefined;
  /** A runtime or extension process ended. */
  processEnded(interruption: Interruption): void;
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean>;
  platformLog(text: string | undefined): void;
  /** The platform's lines in the function's log format. */
  platform: PlatformLog;
  functionLog(text: string): void;
}

export interface InitResult {
  /** Undefined when INIT succeeded. */
  failure: InitFailure | undefined;
  durationMs: number;
  /** Set when the runtime may come from (and replenishes) a warm spare. */
  spareLaunch: RuntimeLaunch | undefined;
}

/** Runs INIT to its end; never rejects (a failure is returned, to be served by the first invoke). */
export async function runInitPhase(host: InitHost): Promise<InitResult> {
  const { options, sandbox } = host;
  const { spec } = options;
  const initTimeoutMs = options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;
  const started = performance.now();
  const remaining = (): number => Math.max(0, initTimeoutMs - (performance.now() - started));
  let initFrom = started;
  let spareLaunch: RuntimeLaunch | undefined;
  let failure: InitFailure | undefined;
  try {
    const launch = resolveRuntime(spec);
    if (canUseSpare(launch, spec.environment)) spareLaunch = launch;
    const { api, env } = await openSandbox(host, launch);
    host.platformLog(
      host.platform.initStart(launch.runtimeVersion, spec.region, options.initializationType),
    );
    host.memory.start();
    await startExtensions(host, api, env, remaining);
    if (host.interruption() === undefined && remaining() > 0) {
      const spareAssignedAt = await startRuntime(
        host,
        { api, env, launch, spareLaunch },
        remaining,
      );
      // With a warm spare, Init Duration counts from the assignment: the Node start-up the spare
      // paid before this function needed it is not this function's INIT (as on Lambda, whose
      // INIT excludes preparing the sandbox). The init timeout still counts from the start.
      if (spareAssignedAt !== undefined) initFrom = spareAssignedAt;
    }
    failure = initFailureNow(host, initTimeoutMs);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    failure = (requestId) => ({ error: platform.invalidEntrypoint(requestId, message) });
  }
  host.memory.stop();
  sandbox.api?.closeRegistration();
  return { failure, durationMs: performance.now() - initFrom, spareLaunch };
}

/**
 * The sandbox's temp folder and Runtime API server, each stored on the sandbox as soon as it
 * exists (so a shutdown during INIT cleans it up), and the environment the processes get.
 */
async function openSandbox(
  host: InitHost,
  launch: RuntimeLaunch,
): Promise<{ api: RuntimeApiServer; env: Record<string, string> }> {
  const { options, sandbox } = host;
  const { spec } = options;
  sandbox.tmpDir = await mkdtemp(join(tmpdir(), `sluice-${spec.name}-`));
  const api = await RuntimeApiServer.start({
    listener: host.listener,
    functionName: spec.name,
    handler: spec.handler,
  });
  sandbox.api = api;
  const env = buildLambdaEnv({
    spec,
    initializationType: options.initializationType,
    runtimeApiAddress: api.address,
    tmpDir: sandbox.tmpDir,
    executionEnv: launch.executionEnv,
    runtimeDir: launch.runtimeDir,
    logStreamName: logStreamName(),
    pathDirs: launch.pathDirs,
  });
  return { api, env };
}

/** External extensions start first, in parallel; the runtime starts once each registered. */
async function startExtensions(
  host: InitHost,
  api: RuntimeApiServer,
  env: Record<string, string>,
  remaining: () => number,
): Promise<void> {
  const extensions = await listExtensions(host.options.spec);
  for (const skipped of extensions.skipped) {
    host.platformLog(`EXTENSION ${basename(skipped)} not started: at most 10 extensions`);
  }
  for (const path of extensions.paths) startExtension(host, path, env);
  await host.waitFor(
    () => host.interruption() !== undefined || api.extensions.all.length >= extensions.paths.length,
    remaining(),
  );
}

interface RuntimeStart {
  api: RuntimeApiServer;
  env: Record<string, string>;
  launch: RuntimeLaunch;
  spareLaunch: RuntimeLaunch | undefined;
}

/**
 * Spawns the runtime (or takes a warm spare) and waits until it is ready, posted an init error or
 * something interrupted INIT. Returns when the spare was assigned, if one was taken.
 */
async function startRuntime(
  host: InitHost,
  { api, env, launch, spareLaunch }: RuntimeStart,
  remaining: () => number,
): Promise<number | undefined> {
  const { spec } = host.options;
  const onLine = (line: string): void => host.functionLog(line);
  const assignedAt = performance.now();
  const spare = spareLaunch && takeSpare(spareLaunch, { env, cwd: spec.codeDir, onLine });
  const runtime =
    spare ??
    spawnProcess({ command: launch.command, args: launch.args, cwd: spec.codeDir, env, onLine });
  host.sandbox.runtime = runtime;
  void runtime.exited.then((info) => {
    host.processEnded({
      kind: 'exit',
      text:
        info.kind === 'spawn-error'
          ? describeSpawnError(launch.command, info.code)
          : describeExit(info),
      spawnFailed: info.kind === 'spawn-error',
    });
  });
  await host.waitFor(
    () =>
      host.interruption() !== undefined ||
      host.initErrorPosted() !== undefined ||
      (api.runtimeReady && api.extensions.allCalledNext()),
    remaining(),
  );
  return spare ? assignedAt : undefined;
}

/** The INIT_REPORT line of a failed INIT. */
export function initFailureReportLine(durationMs: number, failure: InitFailure): string {
  const { error } = failure('');
  const timedOut = error.errorType === 'Sandbox.Timedout';
  return initReportLine(durationMs, timedOut ? 'timeout' : 'error', error.errorType);
}

/** Decides, once INIT waited, whether it failed and how (undefined: it succeeded). */
function initFailureNow(host: InitHost, initTimeoutMs: number): InitFailure | undefined {
  const posted = host.initErrorPosted();
  if (posted) return () => platform.fromPostedError(posted.body, posted.errorType);
  const interruption = host.interruption();
  if (interruption) {
    if (interruption.kind === 'exit' && interruption.spawnFailed) {
      const text = interruption.text;
      return (requestId) => ({ error: platform.invalidEntrypoint(requestId, text) });
    }
    const { timeoutMs } = host.options.spec;
    return (requestId) => ({ error: interruptionError(requestId, interruption, timeoutMs) });
  }
  const api = host.sandbox.api;
  if (api?.runtimeReady && api.extensions.allCalledNext()) return undefined;
  // Init timeout (wording unconfirmed: Lambda retries init inside the first invoke instead).
  return (requestId) => ({ error: platform.timedOut(requestId, initTimeoutMs) });
}

function startExtension(host: InitHost, path: string, env: Record<string, string>): void {
  const name = basename(path);
  const child = spawnProcess({
    command: path,
    args: [],
    cwd: host.options.spec.codeDir,
    env,
    onLine: (line) => host.functionLog(line),
  });
  host.sandbox.extensions.push({ name, child });
  void child.exited.then((info) => {
    host.processEnded({ kind: 'extension-crash', name, text: describeExit(info) });
  });
}
