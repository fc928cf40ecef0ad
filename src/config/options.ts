/**
 * The config file as the user writes it (`sluice.yaml`), after `${VAR}` substitution and before
 * defaults. Units are the ones Lambda users know (seconds, MB); the compiler turns them into the
 * `…Ms` / `…Mb` fields of {@link SluiceConfig}. Every field here is also described in the JSON Schema
 * (`config/sluice.schema.json`) that editors use.
 */

/** Top level of `sluice.yaml`. */
export interface SluiceConfigOptions {
  /** Region reported to functions (`AWS_REGION`) and used in ARNs. Default `us-east-1`. */
  region?: string;
  /** 12-digit account id used in ARNs. Default `000000000000`. A number is zero-padded. */
  accountId?: string | number;
  /** Engine-wide concurrency settings. */
  concurrency?: ConcurrencyOptions;
  /** Functions by name (`[A-Za-z0-9_-]{1,64}`). Default none. */
  functions?: Record<string, FunctionOptions>;
  /** The HTTP API (Invoke API, management API, triggers, health, metrics). */
  api?: ApiOptions;
  /** The embedded store (async queue, API-created mappings). */
  storage?: StorageOptions;
  /** Engine logs. */
  logging?: LoggingOptions;
  /** Broker connections by name, referenced by mappings and destinations. Default none. */
  connections?: Record<string, ConnectionOptions>;
  /** Event source mappings. Default none. */
  mappings?: MappingOptions[];
  /** Push triggers (S3-style notifications over HTTP). Default none. */
  triggers?: TriggerOptions[];
}

export interface ConcurrencyOptions {
  /** Most invokes running at once across all functions (Lambda's account limit). Default 1000. */
  limit?: number;
  /**
   * How much of `limit` reserved concurrency must leave for functions without a reservation.
   * Default: Lambda's 100, but at most a tenth of `limit` (rounded up) so small engines can reserve;
   * set 0 to allow reserving everything.
   */
  minimumUnreserved?: number;
}

export interface FunctionOptions {
  /** `nodejs20.x` | `nodejs22.x` | `nodejs24.x` | `python3.N` | `provided.al2023` | `provided.al2` | `provided`. Required. */
  runtime: string;
  /** `file.export` (e.g. `index.handler`); required except for `provided*` (default `bootstrap`). */
  handler?: string;
  /** Code folder, relative to the config file. Required; must exist. */
  code: string;
  /** Memory in MB, 128–10240. Default 128. */
  memorySize?: number;
  /** Invoke timeout in seconds, 1–900. Default 3. */
  timeout?: number;
  /** Variables for the function. Numbers and booleans are converted to strings. Total ≤ 4 KB. */
  environment?: Record<string, string | number | boolean>;
  /** Concurrency reserved for (and capping) this function, 0–`concurrency.limit`. Default none. */
  reservedConcurrency?: number;
  /** Environments initialised at start and kept warm, ≤ `reservedConcurrency` when set. Default 0. */
  provisionedConcurrency?: number;
  /** Seconds an idle environment is kept before it is shut down, 1–86400. Default 300. */
  idleTimeout?: number;
  /** Asynchronous invocation settings (Lambda's event-invoke-config). */
  async?: AsyncOptions;
  /** Lambda's advanced logging controls. Default: Text logs, no level filtering. */
  loggingConfig?: LoggingConfigOptions;
  /** AWS keys for the function, from sluice's environment. Default none (the function gets no keys). */
  awsCredentials?: AwsCredentialsOptions;
  /** AWS_ENDPOINT_URL for the function (e.g. an S3/SQS-compatible endpoint). Default none. */
  awsEndpointUrl?: string;
}

/** `functions.<name>.awsCredentials`: either `fromEnvironment: true` or the …Var names. */
export interface AwsCredentialsOptions {
  /** Copy AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (if set) from sluice's environment. */
  fromEnvironment?: boolean;
  /** Name of the variable of sluice's environment holding the access key id. */
  accessKeyIdVar?: string;
  /** Name of the variable of sluice's environment holding the secret access key. */
  secretAccessKeyVar?: string;
  /** Name of the variable of sluice's environment holding a session token. Optional. */
  sessionTokenVar?: string;
}

export interface LoggingConfigOptions {
  /** `JSON` | `Text`. JSON: the runtimes log JSON records and START/END/REPORT become `platform.*` records. Default Text. */
  logFormat?: 'JSON' | 'Text';
  /** JSON only: `TRACE` | `DEBUG` | `INFO` | `WARN` | `ERROR` | `FATAL` (AWS_LAMBDA_LOG_LEVEL). Default INFO. */
  applicationLogLevel?: string;
  /** JSON only: `DEBUG` | `INFO` | `WARN`, for the platform's records. Default INFO. */
  systemLogLevel?: string;
}

export interface AsyncOptions {
  /** Retries after a function error, 0–2. Default 2. */
  maximumRetryAttempts?: number;
  /** Seconds an event may wait (queued or retried) before it is dropped, 60–21600. Default 21600. */
  maximumEventAgeInSeconds?: number;
  /** Seconds before each retry; the last one repeats. Default [60, 120]. */
  retryDelays?: number[];
  /** Where the invocation record goes after a success. Default none. */
  onSuccess?: DestinationOptions;
  /** Where the invocation record goes after the last failure. Default none. */
  onFailure?: DestinationOptions;
  /** Where the original event goes after the last failure (Lambda's DLQ). Default none. */
  deadLetter?: DestinationOptions;
}

/**
 * A destination. `destination` is one of:
 * - an SQS queue URL (`http(s)://host/account/queue`), with `connection` naming an `sqs` connection;
 * - `kafka://<topic>`, with `connection` naming a `kafka` connection (default in a Kafka mapping:
 *   the mapping's own connection);
 * - `rabbitmq://<exchange>/<routingKey>` (empty exchange = the default exchange), with `connection`
 *   naming a `rabbitmq` connection (default in a RabbitMQ mapping: the mapping's own connection);
 * - `function:<name>` or a Lambda function ARN, naming a function of this file (no connection).
 */
export interface DestinationOptions {
  /** Target, see above. Required. */
  destination: string;
  /** Connection name for broker targets. */
  connection?: string;
}

export interface ApiOptions {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** TCP port, 0–65535 (0 = any free port). Default 3001. */
  port?: number;
  /** Bearer token required on every route but health; empty or unset = no token. */
  authToken?: string;
  /**
   * `/readyz`: `lenient` (default) = unready only when the worker as a whole cannot serve (not
   * started, stopping, store unreachable), a source outage marks its mapping degraded;
   * `strict` = any degraded mapping makes the worker unready too (as `?strict=1` does).
   */
  readiness?: 'lenient' | 'strict';
  /**
   * On a non-loopback host, serve without `authToken` (and push triggers without their own
   * token); a warning is logged at every start. Default false: that is a config error.
   */
  allowUnauthenticated?: boolean;
  /** Most connections open at once; more are closed on accept. Default 1024. */
  maxConnections?: number;
  /** Time a client has to send the request head. Default 10 000 ms. */
  headersTimeoutMs?: number;
  /** Time a client has to send the whole request (not the response). Default 60 000 ms. */
  requestTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this. Default 5000 ms. */
  keepAliveTimeoutMs?: number;
}

export interface StorageOptions {
  /** SQLite file, relative to the config file; `:memory:` keeps nothing. Default `./.sluice/state.db`. */
  path?: string;
}

export interface LoggingOptions {
  /** `trace` | `debug` | `info` | `warn` | `error` | `fatal` | `silent`. Default `info`. */
  level?: string;
  /** `json` (one object a line) or `pretty` (for people). Default `json`. */
  format?: string;
}

/**
 * A broker connection: `type` names the source plugin (`connectors/<type>/`), whose schema
 * fragment describes the other keys.
 */
export interface ConnectionOptions {
  type: string;
  [key: string]: unknown;
}

export interface MappingOptions {
  /** Unique mapping name, `[A-Za-z0-9_.-]{1,64}`. Required. */
  name: string;
  /** Function to invoke. Required. */
  function: string;
  /** Poll when true. Default true. */
  enabled?: boolean;
  /** Where records come from; which keys apply depends on the connection's type. Required. */
  source: SourceOptions;
  /** Records per batch, 1–10000 (SQS FIFO ≤ 10). Default SQS 10, Kafka 100, RabbitMQ 100. */
  batchSize?: number;
  /** Seconds to gather a batch, 0–300 (not for SQS FIFO). Default SQS 0, Kafka 0.5, RabbitMQ 0.5. */
  maximumBatchingWindowInSeconds?: number;
  /** Up to 10 EventBridge patterns (JSON strings), ORed. Default none (every record). */
  filterCriteria?: { filters?: { pattern: string }[] };
  /** `[ReportBatchItemFailures]` to accept partial batch responses. Default none. */
  functionResponseTypes?: string[];
  scalingConfig?: {
    /** Concurrent batches of this mapping: SQS 2–1000, Kafka/RabbitMQ 1–1000. Default RabbitMQ 1, else unset. */
    maximumConcurrency?: number;
    /**
     * Invoke only as many batches at once as raise throughput, measured as the mapping runs (up to
     * `maximumConcurrency`); false = always the maximum while there is a backlog, as Lambda does.
     * Default true.
     */
    adaptiveConcurrency?: boolean;
    /**
     * While polls come back full, the receive loops (pollers) are multiplied by
     * this every second, adding at least 5, and while they come back mostly empty divided by it,
     * removing at least one; 1–10. Default 2 (5, 10, 20, 40…: 300 more pollers in about 6 s, and
     * halved each idle second). 1 = Lambda's ramp, +5 a second (300 a minute), −1 a second down.
     * Pollers poll only while the function could take their batch, and `maximumConcurrency`
     * bounds them; idle ones keep a long poll open each, which is why they go as fast as they come.
     */
    pollerGrowthFactor?: number;
  };
  /**
   * SQS and Kafka: Lambda's provisioned mode — the receive loops (pollers) of this mapping, kept
   * between `minimumPollers` (SQS 2–200, Kafka 1–200) and `maximumPollers` (1–2000, default 200,
   * ≥ minimumPollers). Pollers start at the minimum and grow while polls come back full. Batches in
   * flight stay capped by `scalingConfig.maximumConcurrency`. Kafka pollers are also capped at the
   * topic's partition count (Lambda's rule). Default: unset (start at 5, scale 2–1250).
   */
  provisionedPollerConfig?: { minimumPollers?: number; maximumPollers?: number };
  /** Kafka/RabbitMQ: retries of a failed batch, −1 (until the records expire) … 10000. Default −1. */
  maximumRetryAttempts?: number;
  /** Kafka: seconds before a record is given up, −1 (never) or 60–604800. Default −1. */
  maximumRecordAgeInSeconds?: number;
  /** Kafka: split a failing batch in two and retry each half. Default false. */
  bisectBatchOnFunctionError?: boolean;
  /** Kafka/RabbitMQ: where records go once retries are exhausted. Default none. */
  destinationConfig?: { onFailure?: DestinationOptions };
}

/** Where records come from: the connection, then the keys of its type's plugin. */
export interface SourceOptions {
  /** Connection name. Required. */
  connection: string;
  [key: string]: unknown;
}

export interface TriggerOptions {
  /** Unique trigger name, `[A-Za-z0-9_.-]{1,64}`. Required. */
  name: string;
  /** Only `s3` for now. Required. */
  type: 's3';
  /** Function invoked (asynchronously) for each matching record. Required. */
  function: string;
  /** Path on the API server. Default `/triggers/s3/<name>`. */
  path?: string;
  /** Bearer token the pusher must send; empty or unset = none. */
  authToken?: string;
  /** S3 event-type patterns (`s3:ObjectCreated:*`; the `s3:` prefix is optional). Default `[s3:*]`. */
  events?: string[];
  /** Object key filter. Default none. */
  filter?: { prefix?: string; suffix?: string };
  /**
   * Back-pressure: notifications are refused with 429 (the pusher retries later) while the async
   * queue holds this many events or more, 1–10 000 000. Default 10 000.
   */
  maxQueueDepth?: number;
}
