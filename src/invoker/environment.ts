import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { SluiceError } from '../errors.ts';
import {
  RuntimeApiServer,
  type InvocationOutcome,
  type RuntimeApiListener,
} from '../runtime-api/runtime-api-server.ts';
import type { RegisteredExtension } from '../runtime-api/extensions-api.ts';
import {
  describeExit,
  describeSpawnError,
  spawnProcess,
  type ChildHandle,
} from './environment-process.ts';
import { listExtensions } from './extension-files.ts';
import { buildLambdaEnv, functionArn, logStreamName } from './lambda-env-vars.ts';
import {
  billedDurationMs,
  endLine,
  initReportLine,
  initStartLine,
  logTail,
  reportLine,
  startLine,
} from './log-lines.ts';
import { MemoryWatch, processMemory } from './memory-watch.ts';
import * as platform from './platform-errors.ts';
import { resolveRuntime, type RuntimeLaunch } from './runtimes/runtimes.ts';
import { canUseSpare, replenishSpare, takeSpare } from './spare-processes.ts';
import type {
  Environment,
  EnvironmentOptions,
  EnvironmentState,
  FunctionErrorBody,
  InitializationType,
  InvokeReport,
  InvokeRequest,
  InvokeResult,
} from './types.ts';

const DEFAULT_INIT_TIMEOUT_MS = 10_000;
const DEFAULT_SHUTDOWN_GRACE_MS = 2_000;
const MIB = 1024 * 1024;

/** Why an invoke (or init) ended without the runtime's answer. */
type Interruption =
  | { kind: 'exit'; text: string; spawnFailed?: boolean }
  | { kind: 'oom' }
  | { kind: 'extension-crash'; name: string; text: string }
  | { kind: 'extension-error'; errorType: string; body: Buffer };

/** Init failure kept for the first invoke ("suppressed init"). */
type InitFailure = (requestId: string) => { error: FunctionErrorBody; payload?: Buffer };

export function createEnvironment(options: EnvironmentOptions): Environment {
  return new LambdaEnvironment(options);
}

/**
 * One execution environment: a runtime process (plus external extensions) talking to its own
 * Runtime API server. States: created → initializing → idle ⇄ busy → shutting-down → dead; any
 * failure (timeout, crash, OOM, init error) leads to dead, never back to idle.
 */
class LambdaEnvironment implements Environment, RuntimeApiListener {
  readonly id = randomUUID();
  readonly functionName: string;
  readonly initializationType: InitializationType;
  lastUsedAt = Date.now();
  private currentState: EnvironmentState = 'created';
  private readonly options: EnvironmentOptions;
  private api: RuntimeApiServer | undefined;
  private runtime: ChildHandle | undefined;
  private readonly extensionProcesses: Array<{ name: string; child: ChildHandle }> = [];
  private tmpDir: string | undefined;
  private readonly memory: MemoryWatch;
  private initPromise: Promise<void> | undefined;
  private shutdownPromise: Promise<void> | undefined;
  private initFailure: InitFailure | undefined;
  private initDurationMs: number | undefined;
  private coldStart = true;
  private initErrorPosted: { body: Buffer; errorType: string | undefined } | undefined;
  private interruption: Interruption | undefined;
  private outcome: InvocationOutcome | undefined;
  private currentRequestId: string | undefined;
  private invokeLog: string[] | undefined;
  private readonly waiters = new Set<() => void>();
  private deadNotified = false;
  /** Set when this environment's runtime may come from (and replenishes) a warm spare. */
  private spareLaunch: RuntimeLaunch | undefined;
  private shutdownReason: 'spindown' | 'timeout' | 'failure' | undefined;

  constructor(options: EnvironmentOptions) {
    this.options = options;
    this.functionName = options.spec.name;
    this.initializationType = options.initializationType;
    this.memory = new MemoryWatch({
      pids: () => this.livePids(),
      limitBytes: options.spec.memorySizeMb * MIB,
      onExceeded: () => {
        this.interrupt({ kind: 'oom' });
        this.killAll('SIGKILL');
      },
    });
  }

  get state(): EnvironmentState {
    return this.currentState;
  }

  init(): Promise<void> {
    this.initPromise ??= this.runInit();
    return this.initPromise;
  }

  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    if (this.currentState !== 'idle') {
      throw new SluiceError('ENVIRONMENT_FAILED', `Environment is ${this.currentState}, not idle`, {
        context: {
          environmentId: this.id,
          functionName: this.functionName,
          requestId: request.requestId,
        },
      });
    }
    const { spec } = this.options;
    const { requestId } = request;
    this.currentState = 'busy';
    this.currentRequestId = requestId;
    this.invokeLog = [];
    this.platformLog(startLine(requestId), requestId);
    const initDurationMs = this.coldStart ? this.initDurationMs : undefined;
    this.coldStart = false;
    const started = performance.now();

    if (this.initFailure) {
      const failure = this.initFailure(requestId);
      return this.finishInvoke(request, started, initDurationMs, { failed: true, ...failure });
    }

    const api = this.api as RuntimeApiServer;
    this.outcome = undefined;
    this.interruption = undefined;
    const deadlineMs = Date.now() + spec.timeoutMs;
    const arn = functionArn(spec);
    this.memory.start();
    api.dispatch({
      requestId,
      payload: request.payload,
      deadlineMs,
      invokedFunctionArn: arn,
      traceId: request.traceId,
      clientContext: request.clientContext,
      cognitoIdentity: request.cognitoIdentity,
    });
    api.broadcastExtensionEvent({
      eventType: 'INVOKE',
      deadlineMs,
      requestId,
      invokedFunctionArn: arn,
    });

    const completed = await this.waitFor(
      () =>
        this.interruption !== undefined ||
        (this.outcome !== undefined && api.extensions.allParked()),
      spec.timeoutMs,
    );
    this.memory.stop();
    // The runtime's answer counts when it came before any interruption; a timeout means the invoke
    // (runtime and INVOKE extensions together) did not complete in time.
    const outcome = completed ? this.postedOutcome() : undefined;
    if (outcome) {
      // Lines the function wrote just before posting may still sit in the pipe.
      await new Promise((resolve) => setImmediate(resolve));
      if (outcome.kind === 'response') {
        return this.finishInvoke(request, started, initDurationMs, {
          failed: false,
          payload: outcome.body,
        });
      }
      const posted =
        outcome.kind === 'error'
          ? platform.fromPostedError(outcome.body, outcome.errorType)
          : { error: platform.responseTooLarge() };
      return this.finishInvoke(request, started, initDurationMs, { failed: false, ...posted });
    }
    const error = this.interruptionError(requestId, completed ? this.interruption : undefined);
    this.killAll('SIGKILL');
    await this.runtime?.exited;
    return this.finishInvoke(request, started, initDurationMs, { failed: true, error });
  }

  /** Read through a method: TypeScript would otherwise keep the narrowing from the reset. */
  private postedOutcome(): InvocationOutcome | undefined {
    return this.outcome;
  }

  shutdown(reason: 'spindown' | 'timeout' | 'failure'): Promise<void> {
    this.shutdownReason ??= reason;
    this.shutdownPromise ??= this.runShutdown(reason);
    return this.shutdownPromise;
  }

  // --- Runtime API listener -------------------------------------------------------------------

  onRuntimeReady(): void {
    this.notify();
  }

  onInvocationOutcome(requestId: string, outcome: InvocationOutcome): void {
    if (requestId === this.currentRequestId && this.interruption === undefined)
      this.outcome = outcome;
    this.notify();
  }

  onInitError(body: Buffer, errorType: string | undefined): void {
    this.initErrorPosted ??= { body, errorType };
    this.notify();
  }

  onExtensionRegistered(): void {
    this.notify();
  }

  onExtensionNext(): void {
    this.notify();
  }

  onExtensionError(
    extension: RegisteredExtension,
    phase: 'init' | 'exit',
    errorType: string | undefined,
    body: Buffer,
  ): void {
    this.interrupt({
      kind: 'extension-error',
      errorType: errorType ?? `Extension.${phase === 'init' ? 'InitError' : 'ExitError'}`,
      body,
    });
    this.platformLog(
      `EXTENSION ${extension.name} reported ${phase} error ${errorType ?? ''}`.trim(),
    );
  }

  // --- INIT ------------------------------------------------------------------------------------

  private async runInit(): Promise<void> {
    if (this.currentState !== 'created') {
      throw new SluiceError(
        'ENVIRONMENT_FAILED',
        `Cannot init an environment that is ${this.currentState}`,
        {
          context: { environmentId: this.id },
        },
      );
    }
    const { spec } = this.options;
    const initTimeoutMs = this.options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;
    this.currentState = 'initializing';
    const started = performance.now();
    const remaining = (): number => Math.max(0, initTimeoutMs - (performance.now() - started));
    let initFrom = started;
    try {
      const launch = resolveRuntime(spec);
      if (canUseSpare(launch, spec.environment)) this.spareLaunch = launch;
      this.tmpDir = await mkdtemp(join(tmpdir(), `sluice-${spec.name}-`));
      this.api = await RuntimeApiServer.start({
        listener: this,
        functionName: spec.name,
        handler: spec.handler,
      });
      const env = buildLambdaEnv({
        spec,
        initializationType: this.initializationType,
        runtimeApiAddress: this.api.address,
        tmpDir: this.tmpDir,
        executionEnv: launch.executionEnv,
        runtimeDir: launch.runtimeDir,
        logStreamName: logStreamName(),
        pathDirs: launch.pathDirs,
      });
      this.platformLog(initStartLine(launch.runtimeVersion, spec.region));
      this.memory.start();

      // External extensions start first, in parallel; the runtime starts once each registered.
      const extensions = await listExtensions(spec);
      for (const skipped of extensions.skipped) {
        this.platformLog(`EXTENSION ${basename(skipped)} not started: at most 10 extensions`);
      }
      for (const path of extensions.paths) this.startExtension(path, env);
      const api = this.api;
      await this.waitFor(
        () =>
          this.interruption !== undefined || api.extensions.all.length >= extensions.paths.length,
        remaining(),
      );

      if (this.interruption === undefined && remaining() > 0) {
        const onLine = (line: string): void => this.functionLog(line);
        const assignedAt = performance.now();
        const spare =
          this.spareLaunch && takeSpare(this.spareLaunch, { env, cwd: spec.codeDir, onLine });
        // With a warm spare, Init Duration counts from the assignment: the Node start-up the spare
        // paid before this function needed it is not this function's INIT (as on Lambda, whose
        // INIT excludes preparing the sandbox). The init timeout still counts from the start.
        if (spare) initFrom = assignedAt;
        this.runtime =
          spare ??
          spawnProcess({
            command: launch.command,
            args: launch.args,
            cwd: spec.codeDir,
            env,
            onLine,
          });
        const runtime = this.runtime;
        void runtime.exited.then((info) => {
          this.interrupt({
            kind: 'exit',
            text:
              info.kind === 'spawn-error'
                ? describeSpawnError(launch.command, info.code)
                : describeExit(info),
            spawnFailed: info.kind === 'spawn-error',
          });
          this.onProcessGone();
        });
        await this.waitFor(
          () =>
            this.interruption !== undefined ||
            this.initErrorPosted !== undefined ||
            (api.runtimeReady && api.extensions.allCalledNext()),
          remaining(),
        );
      }
      this.initFailure = this.initFailureNow(initTimeoutMs);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      this.initFailure = (requestId) => ({ error: platform.invalidEntrypoint(requestId, message) });
    }
    this.memory.stop();
    this.api?.closeRegistration();
    this.initDurationMs = performance.now() - initFrom;
    // A provisioned environment has no invoke coming: the next spare can start now.
    if (this.initializationType === 'provisioned-concurrency') this.replenishSpare();
    if (this.initFailure) {
      const { error } = this.initFailure('');
      const timedOut = error.errorType === 'Sandbox.Timedout';
      this.platformLog(
        initReportLine(this.initDurationMs, timedOut ? 'timeout' : 'error', error.errorType),
      );
      this.killAll('SIGKILL');
      await Promise.all([
        this.runtime?.exited,
        ...this.extensionProcesses.map((e) => e.child.exited),
      ]);
    }
    // After an init failure the environment still goes idle: its first invoke is answered with
    // the init error, then it dies (the pool's next invoke starts a fresh environment).
    if (this.currentState === 'initializing') this.currentState = 'idle';
  }

  /** Decides, once INIT waited, whether it failed and how (undefined: it succeeded). */
  private initFailureNow(initTimeoutMs: number): InitFailure | undefined {
    const posted = this.initErrorPosted;
    if (posted) return () => platform.fromPostedError(posted.body, posted.errorType);
    const interruption = this.interruption;
    if (interruption) {
      if (interruption.kind === 'exit' && interruption.spawnFailed) {
        const text = interruption.text;
        return (requestId) => ({ error: platform.invalidEntrypoint(requestId, text) });
      }
      return (requestId) => ({ error: this.interruptionError(requestId, interruption) });
    }
    if (this.api?.runtimeReady && this.api.extensions.allCalledNext()) return undefined;
    // Init timeout (wording unconfirmed: Lambda retries init inside the first invoke instead).
    return (requestId) => ({ error: platform.timedOut(requestId, initTimeoutMs) });
  }

  private startExtension(path: string, env: Record<string, string>): void {
    const name = basename(path);
    const child = spawnProcess({
      command: path,
      args: [],
      cwd: this.options.spec.codeDir,
      env,
      onLine: (line) => this.functionLog(line),
    });
    this.extensionProcesses.push({ name, child });
    void child.exited.then((info) => {
      this.interrupt({ kind: 'extension-crash', name, text: describeExit(info) });
      this.onProcessGone();
    });
  }

  // --- INVOKE helpers --------------------------------------------------------------------------

  private interruptionError(
    requestId: string,
    interruption: Interruption | undefined,
  ): FunctionErrorBody {
    if (!interruption) return platform.timedOut(requestId, this.options.spec.timeoutMs);
    switch (interruption.kind) {
      case 'oom':
        return platform.outOfMemory(requestId);
      case 'exit':
        return platform.runtimeExited(requestId, interruption.text);
      case 'extension-crash':
        return platform.extensionCrashed(requestId, interruption.name, interruption.text);
      case 'extension-error':
        return platform.fromPostedError(interruption.body, interruption.errorType).error;
    }
  }

  private finishInvoke(
    request: InvokeRequest,
    started: number,
    initDurationMs: number | undefined,
    result: {
      failed: boolean;
      payload?: Buffer;
      error?: FunctionErrorBody;
      functionError?: boolean;
    },
  ): InvokeResult {
    const { requestId } = request;
    const { spec } = this.options;
    const durationMs = performance.now() - started;
    this.runtime?.flushOutput();
    // Only the root processes here (one /proc read each, on every invoke); their subprocesses are
    // covered by the watch's samples while the invoke ran.
    const rootPeakBytes = this.livePids().reduce(
      (sum, pid) => sum + (processMemory(pid)?.peakBytes ?? 0),
      0,
    );
    const peakBytes = Math.max(this.memory.peakBytes, rootPeakBytes);
    const report: InvokeReport = {
      durationMs,
      billedDurationMs: billedDurationMs(durationMs),
      memorySizeMb: spec.memorySizeMb,
      maxMemoryUsedMb: Math.min(spec.memorySizeMb, Math.max(1, Math.round(peakBytes / MIB))),
      ...(initDurationMs === undefined ? {} : { initDurationMs }),
    };
    this.platformLog(endLine(requestId), requestId);
    this.platformLog(reportLine(requestId, report), requestId);
    const tail = logTail(`${(this.invokeLog ?? []).join('\n')}\n`);
    this.invokeLog = undefined;
    this.currentRequestId = undefined;
    this.lastUsedAt = Date.now();
    if (initDurationMs !== undefined) this.replenishSpare();

    // Never re-use an environment whose process is gone (e.g. it posted an error, then exited).
    if (result.failed || this.runtime?.exitInfo || this.interruption) {
      void this.shutdown('failure');
    } else if (this.currentState === 'busy') {
      this.currentState = 'idle';
    }
    if (!result.error) {
      return {
        ok: true,
        requestId,
        payload: result.payload ?? Buffer.from('null'),
        report,
        logTail: tail,
      };
    }
    return {
      ok: false,
      requestId,
      functionError: 'Unhandled',
      error: result.error,
      payload: result.payload ?? Buffer.from(JSON.stringify(result.error)),
      report,
      logTail: tail,
    };
  }

  /**
   * Starts the next warm spare once the cold start this environment served is over (its first
   * invoke answered), and after the caller has its result: a Node start-up running alongside would
   * slow that first invoke down by several ms for a spare only a later cold start uses.
   */
  private replenishSpare(): void {
    const launch = this.spareLaunch;
    this.spareLaunch = undefined;
    if (!launch) return;
    // Not when spun down meanwhile (the pool stopping): it would start a spare nobody kills.
    setImmediate(() => {
      if (this.shutdownReason !== 'spindown') replenishSpare(launch);
    });
  }

  // --- process bookkeeping -----------------------------------------------------------------------

  private livePids(): number[] {
    const pids: number[] = [];
    if (this.runtime?.pid !== undefined && !this.runtime.exitInfo) pids.push(this.runtime.pid);
    for (const { child } of this.extensionProcesses) {
      if (child.pid !== undefined && !child.exitInfo) pids.push(child.pid);
    }
    return pids;
  }

  private interrupt(interruption: Interruption): void {
    this.interruption ??= interruption;
    this.notify();
  }

  /** A process ended. While idle that kills the environment (never re-used after a failure). */
  private onProcessGone(): void {
    if (this.currentState === 'idle' && !this.initFailure) void this.shutdown('failure');
  }

  private killAll(signal: NodeJS.Signals): void {
    this.runtime?.kill(signal);
    for (const { child } of this.extensionProcesses) child.kill(signal);
  }

  private async runShutdown(reason: 'spindown' | 'timeout' | 'failure'): Promise<void> {
    this.currentState = 'shutting-down';
    this.memory.stop();
    const graceMs = this.options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
    const exits = [this.runtime?.exited, ...this.extensionProcesses.map((e) => e.child.exited)];
    const subscribed =
      this.api?.broadcastExtensionEvent({
        eventType: 'SHUTDOWN',
        shutdownReason: reason,
        deadlineMs: Date.now() + graceMs,
      }) ?? 0;
    this.runtime?.kill('SIGTERM');
    if (subscribed === 0) for (const { child } of this.extensionProcesses) child.kill('SIGTERM');
    const allExited = Promise.all(exits);
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      allExited,
      new Promise((resolve) => (graceTimer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(graceTimer);
    this.killAll('SIGKILL');
    await allExited;
    await this.api?.close();
    if (this.tmpDir) await rm(this.tmpDir, { recursive: true, force: true }).catch(() => undefined);
    this.currentState = 'dead';
    this.notify();
    if (!this.deadNotified) {
      this.deadNotified = true;
      this.options.onDead?.(this);
    }
  }

  // --- logs and waiting --------------------------------------------------------------------------

  private platformLog(text: string, requestId?: string): void {
    this.invokeLog?.push(text);
    this.emitLog({ source: 'platform', text, requestId });
  }

  private functionLog(text: string): void {
    this.invokeLog?.push(text);
    this.emitLog({ source: 'function', text, requestId: this.currentRequestId });
  }

  private emitLog(line: {
    source: 'platform' | 'function';
    text: string;
    requestId?: string;
  }): void {
    try {
      this.options.onLog({
        functionName: this.functionName,
        environmentId: this.id,
        ...(line.requestId === undefined ? {} : { requestId: line.requestId }),
        source: line.source,
        text: line.text,
      });
    } catch {
      // A failing log sink must never break the environment.
    }
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Resolves true when `predicate` holds (checked at every notify), false after `timeoutMs`. */
  private waitFor(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    if (predicate()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!predicate()) return;
        done(true);
      };
      const timer = setTimeout(() => done(predicate()), timeoutMs);
      const done = (value: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(value);
      };
      this.waiters.add(check);
    });
  }
}
