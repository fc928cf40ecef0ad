import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { SluiceError } from '../errors.ts';
import type {
  InvocationOutcome,
  RuntimeApiListener,
  RuntimeApiServer,
} from '../runtime-api/runtime-api-server.ts';
import type { RegisteredExtension } from '../runtime-api/extensions-api.ts';
import type { ExitInfo } from './environment-process.ts';
import {
  initFailureReportLine,
  runInitPhase,
  type InitFailure,
  type InitHost,
  type PostedInitError,
  type Sandbox,
} from './environment-init.ts';
import {
  MIB,
  answeredEnding,
  interruptionError,
  invokeLogTail,
  invokeReport,
  invokeResult,
  rootsPeakBytes,
  type Interruption,
  type InvokeEnding,
} from './invoke-result.ts';
import { functionArn } from './lambda-env-vars.ts';
import { invokeStatus, platformLog, type PlatformLog } from './platform-log.ts';
import { MemoryWatch } from './memory-watch.ts';
import type { RuntimeLaunch } from './runtimes/runtimes.ts';
import { replenishSpare } from './spare-processes.ts';
import { StateChanges } from './state-changes.ts';
import type {
  Environment,
  EnvironmentOptions,
  EnvironmentState,
  InitializationType,
  InvokeRequest,
  InvokeResult,
} from './types.ts';

const DEFAULT_SHUTDOWN_GRACE_MS = 2_000;
/** A REPORT may reuse a VmHWM read this recent… */
const PEAK_MAX_AGE_MS = 1_000;
/**
 * …unless the invoke ran this long. Wall time, so it is generous: on a loaded machine a no-op
 * invoke of a 100-record batch takes several ms.
 */
const PEAK_REREAD_INVOKE_MS = 100;

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
  private readonly sandbox: Sandbox = {
    tmpDir: undefined,
    api: undefined,
    runtime: undefined,
    extensions: [],
  };
  private readonly memory: MemoryWatch;
  /** Last read of the roots' VmHWM (see `rootsPeak`). */
  private peakReadAtMs = 0;
  private peakReadBytes = 0;
  private initPromise: Promise<void> | undefined;
  private shutdownPromise: Promise<void> | undefined;
  private initFailure: InitFailure | undefined;
  private initDurationMs: number | undefined;
  private coldStart = true;
  private initErrorPosted: PostedInitError | undefined;
  private interruption: Interruption | undefined;
  private outcome: InvocationOutcome | undefined;
  private currentRequestId: string | undefined;
  private invokeLog: string[] | undefined;
  private readonly changes = new StateChanges();
  private deadNotified = false;
  /** Set when this environment's runtime may come from (and replenishes) a warm spare. */
  private spareLaunch: RuntimeLaunch | undefined;
  private shutdownReason: 'spindown' | 'timeout' | 'failure' | undefined;
  /** START/END/REPORT in the function's log format (Text lines or JSON platform records). */
  private readonly platform: PlatformLog;

  constructor(options: EnvironmentOptions) {
    this.options = options;
    this.platform = platformLog(options.spec.loggingConfig);
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

  // --- INIT ------------------------------------------------------------------------------------

  init(): Promise<void> {
    this.initPromise ??= this.runInit();
    return this.initPromise;
  }

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
    this.currentState = 'initializing';
    const init = await runInitPhase(this.initHost());
    this.initFailure = init.failure;
    this.initDurationMs = init.durationMs;
    this.spareLaunch = init.spareLaunch;
    // A provisioned environment has no invoke coming: the next spare can start now.
    if (this.initializationType === 'provisioned-concurrency') this.replenishSpare();
    if (init.failure) {
      this.platformLog(initFailureReportLine(init.durationMs, init.failure));
      this.killAll('SIGKILL');
      await Promise.all(this.processExits());
    }
    // After an init failure the environment still goes idle: its first invoke is answered with
    // the init error, then it dies (the pool's next invoke starts a fresh environment).
    if (this.currentState === 'initializing') this.currentState = 'idle';
  }

  /** What INIT reads and fills in; the Runtime API server reports to this environment. */
  private initHost(): InitHost {
    return {
      options: this.options,
      listener: this,
      sandbox: this.sandbox,
      memory: this.memory,
      interruption: () => this.interruption,
      initErrorPosted: () => this.initErrorPosted,
      processEnded: (interruption) => this.processEnded(interruption),
      waitFor: (predicate, timeoutMs) => this.changes.waitFor(predicate, timeoutMs),
      platformLog: (text) => this.platformLog(text),
      platform: this.platform,
      functionLog: (text) => this.functionLog(text),
    };
  }

  // --- INVOKE ----------------------------------------------------------------------------------

  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    this.assertIdle(request.requestId);
    const { spec } = this.options;
    const { requestId } = request;
    this.currentState = 'busy';
    this.currentRequestId = requestId;
    this.invokeLog = [];
    this.platformLog(this.platform.start(requestId), requestId);
    const initDurationMs = this.coldStart ? this.initDurationMs : undefined;
    this.coldStart = false;
    const started = performance.now();

    if (this.initFailure) {
      const failure = this.initFailure(requestId);
      return this.finishInvoke(requestId, started, initDurationMs, { failed: true, ...failure });
    }

    const api = this.sandbox.api as RuntimeApiServer;
    this.outcome = undefined;
    this.interruption = undefined;
    const deadlineMs = Date.now() + spec.timeoutMs;
    this.memory.start();
    dispatchInvoke(api, request, functionArn(spec), deadlineMs);

    const completed = await this.changes.waitFor(
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
      return this.finishInvoke(requestId, started, initDurationMs, answeredEnding(outcome));
    }
    const error = interruptionError(
      requestId,
      completed ? this.interruption : undefined,
      spec.timeoutMs,
    );
    this.killAll('SIGKILL');
    await this.sandbox.runtime?.exited;
    return this.finishInvoke(requestId, started, initDurationMs, { failed: true, error });
  }

  private assertIdle(requestId: string): void {
    if (this.currentState === 'idle') return;
    throw new SluiceError('ENVIRONMENT_FAILED', `Environment is ${this.currentState}, not idle`, {
      context: { environmentId: this.id, functionName: this.functionName, requestId },
    });
  }

  /**
   * The roots' VmHWM (peak RSS, monotonic over a process's life) for the REPORT line. Reading
   * /proc costs about as much as the rest of a warm invoke's bookkeeping, so a short invoke reuses
   * a read younger than PEAK_MAX_AGE_MS: its peak shows up at most that late, in a later REPORT.
   * Invokes long enough to be sampled by the memory watch, and the first of an environment, read.
   */
  private rootsPeak(durationMs: number): number {
    const now = Date.now();
    if (durationMs >= PEAK_REREAD_INVOKE_MS || now - this.peakReadAtMs >= PEAK_MAX_AGE_MS) {
      this.peakReadBytes = rootsPeakBytes(this.livePids());
      this.peakReadAtMs = now;
    }
    return this.peakReadBytes;
  }

  /** Read through a method: TypeScript would otherwise keep the narrowing from the reset. */
  private postedOutcome(): InvocationOutcome | undefined {
    return this.outcome;
  }

  private finishInvoke(
    requestId: string,
    started: number,
    initDurationMs: number | undefined,
    ending: InvokeEnding,
  ): InvokeResult {
    const durationMs = performance.now() - started;
    const { runtime } = this.sandbox;
    runtime?.flushOutput();
    const report = invokeReport({
      durationMs,
      memorySizeMb: this.options.spec.memorySizeMb,
      peakBytes: Math.max(this.memory.peakBytes, this.rootsPeak(durationMs)),
      initDurationMs,
    });
    const status = invokeStatus(ending);
    const producedBytes = ending.error ? 0 : (ending.payload?.length ?? 0);
    this.platformLog(this.platform.end(requestId, status, durationMs, producedBytes), requestId);
    this.platformLog(this.platform.report(requestId, report, status), requestId);
    const tail = invokeLogTail(this.invokeLog ?? []);
    this.invokeLog = undefined;
    this.currentRequestId = undefined;
    this.lastUsedAt = Date.now();
    if (initDurationMs !== undefined) this.replenishSpare();

    // Never re-use an environment whose process is gone (e.g. it posted an error, then exited).
    if (ending.failed || runtime?.exitInfo || this.interruption) {
      void this.shutdown('failure');
    } else if (this.currentState === 'busy') {
      this.currentState = 'idle';
    }
    return invokeResult(requestId, ending, report, tail);
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

  // --- SHUTDOWN --------------------------------------------------------------------------------

  shutdown(
    reason: 'spindown' | 'timeout' | 'failure',
    options: { graceMs?: number } = {},
  ): Promise<void> {
    this.shutdownReason ??= reason;
    this.shutdownPromise ??= this.runShutdown(reason, options.graceMs);
    return this.shutdownPromise;
  }

  killNow(): void {
    this.killAll('SIGKILL');
  }

  private async runShutdown(
    reason: 'spindown' | 'timeout' | 'failure',
    graceOverrideMs: number | undefined,
  ): Promise<void> {
    this.currentState = 'shutting-down';
    this.memory.stop();
    const { api, runtime, extensions } = this.sandbox;
    const graceMs = Math.min(
      this.options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
      graceOverrideMs ?? Number.POSITIVE_INFINITY,
    );
    const exits = this.processExits();
    const subscribed =
      api?.broadcastExtensionEvent({
        eventType: 'SHUTDOWN',
        shutdownReason: reason,
        deadlineMs: Date.now() + graceMs,
      }) ?? 0;
    runtime?.kill('SIGTERM');
    if (subscribed === 0) for (const { child } of extensions) child.kill('SIGTERM');
    const allExited = Promise.all(exits);
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      allExited,
      new Promise((resolve) => (graceTimer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(graceTimer);
    this.killAll('SIGKILL');
    await allExited;
    // Read again: an INIT still running when the shutdown began may have started these since.
    await this.sandbox.api?.close();
    const { tmpDir } = this.sandbox;
    if (tmpDir) await rm(tmpDir, { recursive: true, force: true }).catch(() => undefined);
    this.currentState = 'dead';
    this.changes.notify();
    if (!this.deadNotified) {
      this.deadNotified = true;
      this.options.onDead?.(this);
    }
  }

  // --- Runtime API listener -------------------------------------------------------------------

  onRuntimeReady(): void {
    this.changes.notify();
  }

  onInvocationOutcome(requestId: string, outcome: InvocationOutcome): void {
    if (requestId === this.currentRequestId && this.interruption === undefined)
      this.outcome = outcome;
    this.changes.notify();
  }

  onInitError(body: Buffer, errorType: string | undefined): void {
    this.initErrorPosted ??= { body, errorType };
    this.changes.notify();
  }

  onExtensionRegistered(): void {
    this.changes.notify();
  }

  onExtensionNext(): void {
    this.changes.notify();
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

  // --- process bookkeeping -----------------------------------------------------------------------

  private livePids(): number[] {
    const { runtime, extensions } = this.sandbox;
    const pids: number[] = [];
    if (runtime?.pid !== undefined && !runtime.exitInfo) pids.push(runtime.pid);
    for (const { child } of extensions) {
      if (child.pid !== undefined && !child.exitInfo) pids.push(child.pid);
    }
    return pids;
  }

  private interrupt(interruption: Interruption): void {
    this.interruption ??= interruption;
    this.changes.notify();
  }

  /** A process ended. While idle that kills the environment (never re-used after a failure). */
  private processEnded(interruption: Interruption): void {
    this.interrupt(interruption);
    if (this.currentState === 'idle' && !this.initFailure) void this.shutdown('failure');
  }

  private killAll(signal: NodeJS.Signals): void {
    this.sandbox.runtime?.kill(signal);
    for (const { child } of this.sandbox.extensions) child.kill(signal);
  }

  private processExits(): Array<Promise<ExitInfo> | undefined> {
    return [this.sandbox.runtime?.exited, ...this.sandbox.extensions.map((e) => e.child.exited)];
  }

  // --- logs and waiting --------------------------------------------------------------------------

  /** `undefined`: a line the function's system log level drops. */
  private platformLog(text: string | undefined, requestId?: string): void {
    if (text === undefined) return;
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
}

/** Hands the event to the runtime (its next `/next`) and the INVOKE event to the extensions. */
function dispatchInvoke(
  api: RuntimeApiServer,
  request: InvokeRequest,
  invokedFunctionArn: string,
  deadlineMs: number,
): void {
  const { requestId } = request;
  api.dispatch({
    requestId,
    payload: request.payload,
    deadlineMs,
    invokedFunctionArn,
    traceId: request.traceId,
    clientContext: request.clientContext,
    cognitoIdentity: request.cognitoIdentity,
  });
  api.broadcastExtensionEvent({ eventType: 'INVOKE', deadlineMs, requestId, invokedFunctionArn });
}
