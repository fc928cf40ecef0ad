/**
 * Defaults and limits of the config file, in the units the YAML uses (seconds, MB). One place, so
 * the JSON Schema (what editors show), the validator and the compiler can never disagree.
 */

/** Engine-wide concurrency ceiling (Lambda's default account limit). */
export const DEFAULT_CONCURRENCY_LIMIT = 1000;
/** Lambda keeps this many of the account limit unreserved. */
export const LAMBDA_MINIMUM_UNRESERVED = 100;

/**
 * How much of `concurrency.limit` must stay unreserved when the user does not say: Lambda's 100,
 * scaled down for small engines to a tenth of the limit (rounded up), so a laptop engine with
 * `limit: 20` can still reserve 18.
 */
export function defaultMinimumUnreserved(limit: number): number {
  return Math.min(LAMBDA_MINIMUM_UNRESERVED, Math.ceil(limit / 10));
}

export const RUNTIMES_FIXED = [
  'nodejs20.x',
  'nodejs22.x',
  'nodejs24.x',
  'provided.al2023',
  'provided.al2',
  'provided',
] as const;
export const RUNTIME_PATTERN =
  '^(nodejs(20|22|24)\\.x|python3\\.[0-9]+|provided(\\.al2023|\\.al2)?)$';
export const RUNTIMES_EXPECTED =
  'one of nodejs20.x, nodejs22.x, nodejs24.x, python3.N (e.g. python3.12), provided.al2023, provided.al2, provided';

export const FUNCTION_NAME_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
export const ENV_KEY_PATTERN = '^[A-Za-z][A-Za-z0-9_]*$';
/** Lambda's limit on the total size of a function's environment variables (keys + values, bytes). */
export const ENV_MAX_BYTES = 4096;
/** Variables the engine sets itself for every function; a function may not declare them. */
export const RESERVED_ENV_KEYS: readonly string[] = [
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
];

/** Lambda's advanced logging controls (`loggingConfig`). */
export const FUNCTION_LOG_FORMATS = ['JSON', 'Text'] as const;
export const APPLICATION_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export const SYSTEM_LOG_LEVELS = ['DEBUG', 'INFO', 'WARN'] as const;

export const MEMORY_MB = { min: 128, max: 10240, default: 128 } as const;
export const TIMEOUT_S = { min: 1, max: 900, default: 3 } as const;
export const IDLE_TIMEOUT_S = { min: 1, max: 86400, default: 300 } as const;
/** Handler for `provided*` runtimes when none is given (the value of `_HANDLER`). */
export const PROVIDED_DEFAULT_HANDLER = 'bootstrap';
export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_ACCOUNT_ID = '000000000000';

export const ASYNC_RETRIES = { min: 0, max: 2, default: 2 } as const;
export const ASYNC_EVENT_AGE_S = { min: 60, max: 21600, default: 21600 } as const;
/** Lambda waits about 1 min, then 2 min, between retries of a failed asynchronous invoke. */
export const ASYNC_RETRY_DELAYS_S: readonly number[] = [60, 120];

export const API_DEFAULTS = { host: '127.0.0.1', port: 3001 } as const;
/** `api.readiness`: lenient = a source outage degrades its mapping only; strict = unready. */
export const READINESS_MODES = ['lenient', 'strict'] as const;
/**
 * The API's guards against clients that hold connections: at most this many open at once (more
 * are closed on accept), the request head within `headersTimeoutMs`, the whole request (head and
 * body, not the response: a RequestResponse invoke may wait up to 900 s for its function) within
 * `requestTimeoutMs`, and an idle keep-alive connection closed after `keepAliveTimeoutMs`.
 * 60 s moves a 6 MB payload at 100 KB/s.
 */
export const API_MAX_CONNECTIONS = { min: 1, max: 1_000_000, default: 1024 } as const;
export const API_HEADERS_TIMEOUT_MS = { min: 100, max: 600_000, default: 10_000 } as const;
export const API_REQUEST_TIMEOUT_MS = { min: 100, max: 3_600_000, default: 60_000 } as const;
export const API_KEEP_ALIVE_TIMEOUT_MS = { min: 100, max: 600_000, default: 5_000 } as const;
export const STORAGE_DEFAULT_PATH = './.sluice/state.db';
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;

/** Poller ramp: × this per busy second (at least +5), ÷ this per idle one (1 = Lambda's +5/s). */
export const POLLER_GROWTH_FACTOR = { min: 1, max: 10, default: 2 } as const;
export const BATCH_SIZE = { min: 1, max: 10000 } as const;
export const WINDOW_S = { min: 0, max: 300 } as const;
export const MAX_CONCURRENCY = { max: 1000 } as const;
/** `provisionedPollerConfig` (Lambda's provisioned mode): pollers are the receive loops. */
export const MINIMUM_POLLERS = { min: 1, max: 200 } as const;
export const MAXIMUM_POLLERS = { min: 1, max: 2000, default: 200 } as const;
export const MAPPING_RETRIES = { min: -1, max: 10000, default: -1 } as const;
/** With infinite retries and an onFailure destination, Lambda caps retries at this. */
export const RETRIES_CAP_WITH_DESTINATION = 10;
export const RECORD_AGE_S = { min: 60, max: 604800, default: -1 } as const;
// Filter limits belong to the filter engine (batching/); the schema reads them from there.
export { FILTER_PATTERN_MAX_CHARS, FILTERS_MAX } from '../batching/filter-types.ts';
export const FUNCTION_RESPONSE_TYPES = ['ReportBatchItemFailures'] as const;

export const S3_DEFAULT_EVENTS: readonly string[] = ['s3:*'];
export const TRIGGER_PATH_PREFIX = '/triggers/s3/';
/**
 * A trigger answers 429 while the async queue holds this many events: about 10 MB of queued S3
 * events, minutes of work for a busy function, and the pusher (MinIO's queue_dir, SNS) retries.
 */
export const TRIGGER_MAX_QUEUE_DEPTH = { min: 1, max: 10_000_000, default: 10_000 } as const;
