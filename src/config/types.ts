/**
 * Compiled config: every default filled in, every duration in milliseconds, every path absolute.
 * This is what the engine consumes; the raw YAML shape is in `options.ts`.
 */
import type { FunctionSpec } from '../invoker/types.ts';
export type { SourceType } from './defaults.ts';

export interface SluiceConfig {
  /** Absolute path of the config file (or the name given to `loadConfigFromString`). */
  file: string;
  /** Absolute folder relative paths were resolved against (the config file's folder). */
  baseDir: string;
  /** Region reported to functions and used in ARNs. Default `us-east-1`. */
  region: string;
  /** 12-digit account id used in ARNs. Default `000000000000`. */
  accountId: string;
  concurrency: ConcurrencyConfig;
  /** Functions by name, in file order. */
  functions: Record<string, FunctionConfig>;
  api: ApiConfig;
  storage: StorageConfig;
  logging: LoggingConfig;
  /** Connections by name, in file order. */
  connections: Record<string, ConnectionConfig>;
  /** Mappings in file order. */
  mappings: MappingConfig[];
  /** Triggers in file order. */
  triggers: TriggerConfig[];
}

export interface ConcurrencyConfig {
  /** Most invokes running at once across all functions. Default 1000. */
  limit: number;
  /**
   * Part of `limit` that reservations must leave free. Default `min(100, ceil(limit / 10))`:
   * Lambda's 100 for the default limit, scaled down for small engines.
   */
  minimumUnreserved: number;
}

export interface FunctionConfig extends FunctionSpec {
  /** Cap and guarantee; undefined = shares the unreserved pool. Default undefined. */
  reservedConcurrency: number | undefined;
  /** Environments pre-initialised at start. Default 0. */
  provisionedConcurrency: number;
  async: AsyncConfig;
}

export interface AsyncConfig {
  /** Retries after a function error, 0–2. Default 2. */
  maximumRetryAttempts: number;
  /** Oldest an event may get before it is dropped, in ms. Default 21 600 000 (6 h). */
  maximumEventAgeMs: number;
  /** Delay before retry n (index n − 1), in ms; the last one repeats. Default [60 000, 120 000]. */
  retryDelaysMs: number[];
  onSuccess: DestinationConfig | undefined;
  onFailure: DestinationConfig | undefined;
  deadLetter: DestinationConfig | undefined;
}

/** A resolved destination; `uri` is the string from the file (Lambda's `Destination`). */
export type DestinationConfig =
  | { type: 'sqs'; uri: string; connection: string; queueUrl: string }
  | { type: 'kafka'; uri: string; connection: string; topic: string }
  | { type: 'rabbitmq'; uri: string; connection: string; exchange: string; routingKey: string }
  | { type: 'function'; uri: string; functionName: string };

export interface ApiConfig {
  /** Default `127.0.0.1`. */
  host: string;
  /** Default 3001; 0 = any free port. */
  port: number;
  /** Bearer token; undefined = no authentication (an empty string in the file means none). */
  authToken: string | undefined;
  /** `/readyz` default: lenient (source outages degrade mappings only) or strict. */
  readiness: 'lenient' | 'strict';
  /**
   * Explicit opt-in to a non-loopback host without a token (validation refuses it otherwise);
   * the server warns at every start. Default false.
   */
  allowUnauthenticated: boolean;
  /** Most connections open at once; more are closed on accept. Default 1024. */
  maxConnections: number;
  /** Time to receive the request head. Default 10 000. */
  headersTimeoutMs: number;
  /** Time to receive the whole request; never limits the response. Default 60 000. */
  requestTimeoutMs: number;
  /** Idle keep-alive connections close after this. Default 5000. */
  keepAliveTimeoutMs: number;
}

export interface StorageConfig {
  /** Absolute SQLite path, or `:memory:`. Default `<config dir>/.sluice/state.db`. */
  path: string;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface LoggingConfig {
  /** Default `info`. */
  level: LogLevel;
  /** Default `json`. */
  format: 'json' | 'pretty';
}

export type ConnectionConfig =
  SqsConnectionConfig | KafkaConnectionConfig | RabbitMqConnectionConfig;

export interface SqsConnectionConfig {
  type: 'sqs';
  name: string;
  /** Undefined = AWS's endpoint for the region. */
  endpoint: string | undefined;
  /** Undefined = the AWS SDK's region chain. */
  region: string | undefined;
  /** Undefined = the AWS SDK's default credential chain. Secret: never log. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

export interface KafkaConnectionConfig {
  type: 'kafka';
  name: string;
  /** `host:port` list, 1–10 entries. */
  bootstrapServers: string[];
  /** Default `sluice`. */
  clientId: string;
  /** Undefined = no SASL. The password is secret: never log. */
  sasl:
    | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
    | undefined;
  /** Undefined = plaintext. File paths are absolute (read by the connector). */
  ssl: KafkaTlsConfig | undefined;
}

export interface KafkaTlsConfig {
  /** PEM CA bundle; undefined = the system CAs. */
  caFile: string | undefined;
  /** PEM client certificate (mTLS). */
  certFile: string | undefined;
  /** PEM client key (mTLS). */
  keyFile: string | undefined;
  /** Default true. */
  rejectUnauthorized: boolean;
}

export interface RabbitMqConnectionConfig {
  type: 'rabbitmq';
  name: string;
  /** AMQP URL; may hold credentials: never log it unredacted. */
  url: string;
}

/** One compiled filter: the pattern text as written and its parsed JSON. */
export interface FilterConfig {
  pattern: string;
  parsed: Record<string, unknown>;
}

interface MappingConfigBase {
  name: string;
  functionName: string;
  /** Default true. */
  enabled: boolean;
  /** Default per source: SQS 10, Kafka 100, RabbitMQ 100. */
  batchSize: number;
  /** Default per source: SQS 0, Kafka 500, RabbitMQ 500. */
  maximumBatchingWindowMs: number;
  /** Empty = every record matches. */
  filters: FilterConfig[];
  /** `functionResponseTypes` includes `ReportBatchItemFailures`. Default false. */
  reportBatchItemFailures: boolean;
  /** Undefined = only the function and engine ceilings apply. RabbitMQ default 1. */
  maximumConcurrency: number | undefined;
  /** `scalingConfig.adaptiveConcurrency`: the throughput tuner picks invokes in flight. Default true. */
  adaptiveConcurrency: boolean;
  /** `scalingConfig.pollerGrowthFactor`: pollers × this per busy second, ÷ per idle one. Default 2. */
  pollerGrowthFactor: number;
  /** `provisionedPollerConfig`: receive loops kept between these; undefined = scaled 2–1250. */
  pollers: { minimum: number; maximum: number } | undefined;
}

export interface SqsMappingConfig extends MappingConfigBase {
  type: 'sqs';
  source: {
    connection: string;
    queueUrl: string;
    /** URL ends with `.fifo`. */
    fifo: boolean;
    /** `source.retryBackoff` in ms; undefined = failed records back after the visibility timeout. */
    retryBackoff: { baseMs: number; maximumMs: number } | undefined;
  };
}

export interface KafkaMappingConfig extends MappingConfigBase {
  type: 'kafka';
  source: {
    connection: string;
    topic: string;
    /** Default `sluice-<mapping name>`. */
    consumerGroupId: string;
    /** Default `TRIM_HORIZON`. */
    startingPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
    /** Epoch ms, set for `AT_TIMESTAMP` only. */
    startingPositionTimestampMs: number | undefined;
    /** Group session timeout; undefined = the environment's or 30 000 ms. */
    sessionTimeoutMs: number | undefined;
    /** Heartbeat cadence; undefined = the environment's or 3000 ms. */
    heartbeatIntervalMs: number | undefined;
    /** Commit coalescing; undefined = the environment's or 100 ms. */
    commitIntervalMs: number | undefined;
  };
  /**
   * Retries of a failed batch; `Infinity` = until it succeeds or the records expire (Lambda's −1).
   * Lambda caps infinite retries at 10 when an onFailure destination is set; so does the compiler.
   */
  maximumRetryAttempts: number;
  /** Records older than this are given up; `Infinity` = never (Lambda's −1). */
  maximumRecordAgeMs: number;
  /** Default false. */
  bisectBatchOnFunctionError: boolean;
  onFailure: DestinationConfig | undefined;
}

export interface RabbitMqMappingConfig extends MappingConfigBase {
  type: 'rabbitmq';
  source: {
    connection: string;
    queue: string;
    /** Default `/`. */
    virtualHost: string;
  };
  /** Redeliveries before the message is dead-lettered; `Infinity` = until it expires (Lambda). */
  maximumRetryAttempts: number;
  onFailure: DestinationConfig | undefined;
}

export type MappingConfig = SqsMappingConfig | KafkaMappingConfig | RabbitMqMappingConfig;

export interface TriggerConfig {
  name: string;
  type: 's3';
  functionName: string;
  /** Path on the API server. Default `/triggers/s3/<name>`. */
  path: string;
  /** Undefined = no token required. Secret: never log. */
  authToken: string | undefined;
  /** Patterns, always with the `s3:` prefix (`s3:ObjectCreated:*`). Default `['s3:*']`. */
  events: string[];
  /** Key filter; empty strings match everything. */
  filter: { prefix: string; suffix: string };
  /** 429 while the async queue holds this many events or more. Default 10 000. */
  maxQueueDepth: number;
}
