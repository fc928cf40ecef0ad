/**
 * Shapes shared by the execution environment (one child process speaking the Lambda Runtime API)
 * and the pool / invoker that schedule work onto environments.
 */

/** Runtimes a function may declare. `python3.x` means any `python3.<minor>`. */
export type RuntimeId = string; // 'nodejs20.x' | 'nodejs22.x' | 'nodejs24.x' | `python3.${n}` | 'provided.al2023' | 'provided.al2' | 'provided'

/** Everything needed to start environments of one function (compiled config, no defaults left). */
export interface FunctionSpec {
  /** Function name, `[a-zA-Z0-9-_]{1,64}`. */
  name: string;
  runtime: RuntimeId;
  /** `file.export` (Node/Python); ignored for `provided*`. */
  handler: string;
  /** Absolute path of the code folder. */
  codeDir: string;
  /** MB, 128–10240. */
  memorySizeMb: number;
  /** Invoke timeout. */
  timeoutMs: number;
  /** Variables the function declares (added to the Lambda-set ones; never the engine's own env). */
  environment: Record<string, string>;
  /** Folder of external extensions (executables); default `<codeDir>/extensions` when it exists. */
  extensionsDir?: string;
  /** Region reported to the function (AWS_REGION); default 'us-east-1'. */
  region: string;
  /** Account id used in ARNs; default '000000000000'. */
  accountId: string;
  /** Idle environments are shut down after this long. */
  idleTimeoutMs: number;
  /** Lambda's advanced logging controls; undefined = Text logs, no level (Lambda's default). */
  loggingConfig?: FunctionLoggingConfig;
  /**
   * AWS keys given to the function (AWS_ACCESS_KEY_ID…), as Lambda gives its execution role's.
   * Only when the config declares `awsCredentials`. Secret: never log or print it.
   */
  awsCredentials?: AwsCredentials;
  /** AWS_ENDPOINT_URL for the function (an S3/SQS-compatible endpoint the SDKs then use). */
  awsEndpointUrl?: string;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export type ApplicationLogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';
export type SystemLogLevel = 'DEBUG' | 'INFO' | 'WARN';

/** A function's `loggingConfig`, compiled: levels are set (default INFO) only for JSON. */
export interface FunctionLoggingConfig {
  logFormat: 'JSON' | 'Text';
  /** Surfaced as AWS_LAMBDA_LOG_LEVEL: the runtimes and Powertools drop lower levels. */
  applicationLogLevel?: ApplicationLogLevel;
  /** Filters the platform's own records (START/END/REPORT are INFO). */
  systemLogLevel?: SystemLogLevel;
}

export type InitializationType = 'on-demand' | 'provisioned-concurrency';

/** One invocation handed to an environment. */
export interface InvokeRequest {
  requestId: string;
  /** Raw event bytes (JSON text for every source the engine builds). */
  payload: Buffer;
  /** Decoded client context JSON text (from X-Amz-Client-Context), if any. */
  clientContext?: string;
  cognitoIdentity?: string;
  traceId?: string;
}

/** Lambda's error shape as the runtime (or the platform) reports it. */
export interface FunctionErrorBody {
  errorType: string;
  errorMessage: string;
  stackTrace?: string[];
  trace?: string[];
  [key: string]: unknown;
}

export type InvokeResult =
  | { ok: true; requestId: string; payload: Buffer; report: InvokeReport; logTail: string }
  | {
      ok: false;
      requestId: string;
      /** 'Unhandled' for function and platform errors, as Lambda's X-Amz-Function-Error. */
      functionError: 'Unhandled' | 'Handled';
      error: FunctionErrorBody;
      /** The exact error body bytes to return to a caller. */
      payload: Buffer;
      report: InvokeReport;
      logTail: string;
    };

/** Figures of one invoke, as printed on the REPORT line. */
export interface InvokeReport {
  durationMs: number;
  billedDurationMs: number;
  memorySizeMb: number;
  maxMemoryUsedMb: number;
  /** Set on cold starts only. */
  initDurationMs?: number;
}

/** A log line an environment produced (platform lines and function output alike). */
export interface EnvironmentLogLine {
  functionName: string;
  environmentId: string;
  requestId?: string;
  /** 'platform' for INIT_START/START/END/REPORT, 'function' for the function's stdout/stderr. */
  source: 'platform' | 'function';
  text: string;
}

export type EnvironmentState =
  'created' | 'initializing' | 'idle' | 'busy' | 'shutting-down' | 'dead';

/**
 * One execution environment: a child process that speaks the Runtime API to its own loopback
 * server. Never re-used after a failure (timeout, crash, OOM, init error): it moves to `dead`.
 */
export interface Environment {
  readonly id: string;
  readonly functionName: string;
  readonly initializationType: InitializationType;
  readonly state: EnvironmentState;
  /** Last time an invoke finished (epoch ms), for idle reclaim. */
  readonly lastUsedAt: number;
  /**
   * Starts the process (extensions, runtime) and waits for INIT to finish. Resolves even when init
   * failed: the init error is then kept and served as the first invoke's result (Lambda's
   * "suppressed init"), and the environment is dead after that invoke.
   */
  init(): Promise<void>;
  /** Runs one invoke (state must be idle). Never rejects for function failures. */
  invoke(request: InvokeRequest): Promise<InvokeResult>;
  /**
   * SHUTDOWN phase: extensions told, SIGTERM, grace, SIGKILL. Idempotent and awaitable.
   * `graceMs` shortens the grace (a shutdown with little time left before its deadline).
   */
  shutdown(
    reason: 'spindown' | 'timeout' | 'failure',
    options?: { graceMs?: number },
  ): Promise<void>;
  /**
   * SIGKILLs every process of the environment at once, synchronously: the last resort of a
   * shutdown out of time, so no function process outlives the engine. Optional (test fakes).
   */
  killNow?(): void;
}

export interface EnvironmentOptions {
  spec: FunctionSpec;
  initializationType: InitializationType;
  /** Receives every log line (platform and function). */
  onLog: (line: EnvironmentLogLine) => void;
  /** Called once when the environment becomes dead for any reason (so the pool drops it). */
  onDead?: (env: Environment) => void;
  /** Override the INIT limit (default 10 s; Lambda allows longer for provisioned concurrency). */
  initTimeoutMs?: number;
  /** Grace between SIGTERM and SIGKILL at shutdown (default 2000 ms). */
  shutdownGraceMs?: number;
}
