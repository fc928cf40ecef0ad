/**
 * Compiled config: every default filled in, every duration in milliseconds, every path absolute.
 * This is what the engine consumes; the raw YAML shape is in `options.ts`.
 */
import type { FunctionSpec } from '../invoker/types.ts';
import type { ConnectionBase, SourceMapping } from '../connectors/plugin.ts';
import type { BrokerDestination } from '../connectors/destination-plugin.ts';
export type { MappingConfigBase } from '../connectors/plugin.ts';

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

/**
 * A resolved destination; `uri` is the string from the file (Lambda's `Destination`). A broker
 * target carries its `connection`; its plugin (`connectors/<type>/`) narrows the target's fields.
 */
export type DestinationConfig = FunctionDestinationConfig | BrokerDestination;

/** Another function of the file (`function:<name>` or a Lambda ARN): not a broker, the core's own. */
export interface FunctionDestinationConfig {
  type: 'function';
  uri: string;
  functionName: string;
}

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

/** A compiled connection; its plugin (`connectors/<type>/`) knows the rest of its shape. */
export type ConnectionConfig = ConnectionBase;

/** One compiled filter: the pattern text as written and its parsed JSON. */
export interface FilterConfig {
  pattern: string;
  parsed: Record<string, unknown>;
}

/**
 * A compiled mapping: the common fields, `type`, `source.connection`; its plugin
 * (`connectors/<type>/`) narrows the rest (its `source:` keys, retry and destination settings).
 */
export type MappingConfig = SourceMapping;

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
