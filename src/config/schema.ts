/**
 * The JSON Schema (draft-07) of `sluice.yaml`: the one description of the config's shape, used by
 * the validator (Ajv) and by editors (`config/sluice.schema.json` is this object, written out; a
 * unit test keeps the file in step). It checks shape, types and fixed ranges; rules that depend on
 * other values (per-source limits, references, sums) are in `validate-*.ts`.
 *
 * `x-expected` is ours: the phrase error messages use for what is allowed at that node.
 */
import * as d from './defaults.ts';
import {
  bool,
  int,
  num,
  obj,
  oneOfStrings,
  str,
  type JsonSchema as Schema,
} from '../connectors/schema-kit.ts';
import { listWithOr, type SourcePlugins } from '../connectors/plugin.ts';

const NAME_PATTERN = '^[A-Za-z0-9_.-]{1,64}$';
const NAME_EXPECTED = '1–64 letters, digits, ".", "-" or "_"';

const destination = obj(
  'A destination: an SQS queue URL (with `connection`), `kafka://<topic>`, `rabbitmq://<exchange>/<routingKey>` (with `connection`, default the mapping’s own), or `function:<name>`.',
  {
    destination: str(
      'SQS queue URL, kafka://<topic>, rabbitmq://<exchange>/<routingKey> or function:<name>.',
      {
        minLength: 1,
      },
    ),
    connection: str('Name of the connection used to reach the destination (not for functions).'),
  },
  ['destination'],
);

const asyncSchema = obj('Asynchronous invocation (Lambda’s event-invoke-config).', {
  maximumRetryAttempts: int(
    d.ASYNC_RETRIES.min,
    d.ASYNC_RETRIES.max,
    '',
    'Retries after a function error. Default 2.',
    d.ASYNC_RETRIES.default,
  ),
  maximumEventAgeInSeconds: int(
    d.ASYNC_EVENT_AGE_S.min,
    d.ASYNC_EVENT_AGE_S.max,
    'seconds',
    'Oldest an event may get before it is dropped, in seconds. Default 21600.',
    d.ASYNC_EVENT_AGE_S.default,
  ),
  retryDelays: {
    type: 'array',
    description: 'Seconds before each retry; the last one repeats. Default [60, 120].',
    default: [...d.ASYNC_RETRY_DELAYS_S],
    items: num(0, d.ASYNC_EVENT_AGE_S.max, 'seconds', 'Delay before this retry, in seconds.'),
    minItems: 1,
    'x-expected': 'a list of delays in seconds',
  },
  onSuccess: destination,
  onFailure: destination,
  deadLetter: destination,
});

const loggingConfigSchema = obj(
  "Lambda's advanced logging controls. Default: Text logs, no level filtering.",
  {
    logFormat: oneOfStrings(
      d.FUNCTION_LOG_FORMATS,
      'JSON: the runtimes log JSON records (AWS_LAMBDA_LOG_FORMAT) and START/END/REPORT become platform.* records. Default Text.',
      'Text',
    ),
    applicationLogLevel: oneOfStrings(
      d.APPLICATION_LOG_LEVELS,
      'JSON only: lowest level the function logs (AWS_LAMBDA_LOG_LEVEL). Default INFO.',
    ),
    systemLogLevel: oneOfStrings(
      d.SYSTEM_LOG_LEVELS,
      "JSON only: lowest level of the platform's records. Default INFO.",
    ),
  },
);

const awsCredentialsSchema = obj(
  "AWS keys for the function (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), read from sluice's environment: fromEnvironment: true copies sluice's own, or name the variables. Default none.",
  {
    fromEnvironment: bool(
      "Copy AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (if set) from sluice's environment.",
      false,
    ),
    accessKeyIdVar: str("Variable of sluice's environment holding the access key id.", {
      pattern: d.ENV_KEY_PATTERN,
    }),
    secretAccessKeyVar: str("Variable of sluice's environment holding the secret access key.", {
      pattern: d.ENV_KEY_PATTERN,
    }),
    sessionTokenVar: str("Variable of sluice's environment holding a session token. Optional.", {
      pattern: d.ENV_KEY_PATTERN,
    }),
  },
);

const functionSchema = obj(
  'A function, run in Lambda-style execution environments.',
  {
    runtime: {
      type: 'string',
      pattern: d.RUNTIME_PATTERN,
      examples: [...d.RUNTIMES_FIXED, 'python3.12'],
      description: `Runtime: ${d.RUNTIMES_EXPECTED.replace('one of ', '')}.`,
      'x-expected': d.RUNTIMES_EXPECTED,
    },
    handler: str(
      '`file.export` (e.g. index.handler); required except for provided* runtimes (default bootstrap).',
    ),
    code: str('Code folder, relative to this file. Must exist.', { minLength: 1 }),
    memorySize: int(
      d.MEMORY_MB.min,
      d.MEMORY_MB.max,
      'MB',
      'Memory in MB. Default 128.',
      d.MEMORY_MB.default,
    ),
    timeout: int(
      d.TIMEOUT_S.min,
      d.TIMEOUT_S.max,
      'seconds',
      'Invoke timeout in seconds. Default 3.',
      d.TIMEOUT_S.default,
    ),
    environment: {
      type: 'object',
      description: 'Environment variables (numbers and booleans become strings). Total ≤ 4 KB.',
      propertyNames: {
        pattern: d.ENV_KEY_PATTERN,
        'x-expected': 'a letter followed by letters, digits or _',
      },
      additionalProperties: {
        type: ['string', 'number', 'boolean'],
        'x-expected': 'a string (numbers and booleans are converted; use "" for empty)',
      },
      'x-expected': 'a map of variable names to values',
    },
    reservedConcurrency: int(
      0,
      1_000_000,
      '',
      'Concurrency reserved for this function and its cap. Default none (shares the unreserved pool).',
    ),
    provisionedConcurrency: int(
      0,
      1_000_000,
      '',
      'Environments initialised at start and kept warm (≤ reservedConcurrency). Default 0.',
      0,
    ),
    idleTimeout: int(
      d.IDLE_TIMEOUT_S.min,
      d.IDLE_TIMEOUT_S.max,
      'seconds',
      'Seconds an idle environment is kept. Default 300.',
      d.IDLE_TIMEOUT_S.default,
    ),
    async: asyncSchema,
    loggingConfig: loggingConfigSchema,
    awsCredentials: awsCredentialsSchema,
    awsEndpointUrl: str(
      'AWS_ENDPOINT_URL for the function: the endpoint the AWS SDKs (v3 JS, boto3, Go v2) call, e.g. an S3/SQS-compatible service. Default none.',
      { pattern: '^https?://', 'x-expected': 'an http:// or https:// URL' },
    ),
  },
  ['runtime', 'code'],
);

function connection(
  type: string,
  description: string,
  properties: Record<string, Schema>,
  required: string[] = [],
): Schema {
  return {
    if: { properties: { type: { const: type } }, required: ['type'] },
    then: obj(description, { type: { const: type }, ...properties }, ['type', ...required]),
  };
}

/** `connections.<name>`: a type, then the keys of that type's plugin. */
function connectionSchema(plugins: SourcePlugins): Schema {
  const types = listWithOr(plugins.types);
  return {
    type: 'object',
    description: `A broker connection (${types}).`,
    required: ['type'],
    properties: {
      type: oneOfStrings(plugins.types, 'Broker type.'),
    },
    'x-expected': `a map with a type (${types})`,
    allOf: plugins.all.map((p) =>
      connection(
        p.type,
        p.connectionSchema.description,
        p.connectionSchema.properties,
        p.connectionSchema.required,
      ),
    ),
  };
}

/** `source:`: the connection, then every plugin's keys (the connection's type decides which apply). */
function sourceSchema(plugins: SourcePlugins): Schema {
  return obj(
    `Where records come from. ${plugins.all.map((p) => p.sourceSchema.summary).join(' ')}`,
    {
      connection: str('Connection name (its type decides the source type).', { minLength: 1 }),
      ...Object.assign({}, ...plugins.all.map((p) => p.sourceSchema.properties)),
    },
    ['connection'],
  );
}

/** The keys every mapping has before `source:`. */
const mappingHead: Record<string, Schema> = {
  name: str('Unique mapping name.', { pattern: NAME_PATTERN, 'x-expected': NAME_EXPECTED }),
  function: str('Function to invoke.', { minLength: 1 }),
  enabled: bool('Poll when true. Default true.', true),
};

/** The keys every mapping has after `source:` (Lambda's common event-source-mapping fields). */
const mappingTail: Record<string, Schema> = {
  batchSize: int(
    d.BATCH_SIZE.min,
    d.BATCH_SIZE.max,
    'records',
    'Records per batch. Default SQS 10, Kafka 100, RabbitMQ 100; SQS FIFO ≤ 10.',
  ),
  maximumBatchingWindowInSeconds: num(
    d.WINDOW_S.min,
    d.WINDOW_S.max,
    'seconds',
    'Seconds to gather a batch. Default SQS 0, Kafka 0.5, RabbitMQ 0.5; not for SQS FIFO.',
  ),
  filterCriteria: obj('Record filters.', {
    filters: {
      type: 'array',
      description: `Up to ${d.FILTERS_MAX} EventBridge patterns, ORed.`,
      maxItems: d.FILTERS_MAX,
      items: obj(
        'One filter.',
        {
          pattern: str('EventBridge pattern as a JSON string.', {
            minLength: 1,
            maxLength: d.FILTER_PATTERN_MAX_CHARS,
            'x-expected': `a JSON object as a string of at most ${d.FILTER_PATTERN_MAX_CHARS} characters`,
          }),
        },
        ['pattern'],
      ),
      'x-expected': `a list of at most ${d.FILTERS_MAX} filters`,
    },
  }),
  functionResponseTypes: {
    type: 'array',
    description: '[ReportBatchItemFailures] to accept partial batch responses.',
    uniqueItems: true,
    items: oneOfStrings(d.FUNCTION_RESPONSE_TYPES, 'Response type.'),
    'x-expected': 'a list with ReportBatchItemFailures',
  },
  scalingConfig: obj('Mapping concurrency.', {
    maximumConcurrency: int(
      1,
      d.MAX_CONCURRENCY.max,
      '',
      'Concurrent batches: SQS 2–1000, Kafka/RabbitMQ 1–1000. Default RabbitMQ 1, else unset.',
    ),
    adaptiveConcurrency: bool(
      'Invoke only as many batches at once as raise throughput (up to maximumConcurrency). Default true.',
      true,
    ),
    pollerGrowthFactor: num(
      d.POLLER_GROWTH_FACTOR.min,
      d.POLLER_GROWTH_FACTOR.max,
      '',
      "Pollers are multiplied by this each busy second (at least +5), divided by it each idle one. Default 2; 1 = Lambda's +5 a second.",
      d.POLLER_GROWTH_FACTOR.default,
    ),
  }),
  provisionedPollerConfig: obj(
    "SQS/Kafka: receive loops (Lambda's provisioned mode). Default: scaled 2–1250.",
    {
      minimumPollers: int(
        d.MINIMUM_POLLERS.min,
        d.MINIMUM_POLLERS.max,
        '',
        'Pollers always running: SQS 2–200, Kafka 1–200.',
      ),
      maximumPollers: int(
        d.MAXIMUM_POLLERS.min,
        d.MAXIMUM_POLLERS.max,
        '',
        'Most pollers. Default 200 when minimumPollers is set.',
      ),
    },
  ),
  maximumRetryAttempts: int(
    d.MAPPING_RETRIES.min,
    d.MAPPING_RETRIES.max,
    '-1 = until the records expire',
    'Kafka/RabbitMQ: retries of a failed batch. Default -1.',
    d.MAPPING_RETRIES.default,
  ),
  maximumRecordAgeInSeconds: {
    type: 'integer',
    description: 'Kafka: seconds before a record is given up; -1 = never. Default -1.',
    default: d.RECORD_AGE_S.default,
    anyOf: [{ const: -1 }, { minimum: d.RECORD_AGE_S.min, maximum: d.RECORD_AGE_S.max }],
    'x-expected': `-1 (never) or an integer from ${d.RECORD_AGE_S.min} to ${d.RECORD_AGE_S.max} (seconds)`,
  },
  bisectBatchOnFunctionError: bool(
    'Kafka: split a failing batch and retry each half. Default false.',
    false,
  ),
  destinationConfig: obj('Kafka/RabbitMQ: where exhausted records go.', {
    onFailure: destination,
  }),
};

const mappingSchema = (plugins: SourcePlugins): Schema =>
  obj(
    'An event source mapping: polls a source and invokes a function with batches.',
    { ...mappingHead, source: sourceSchema(plugins), ...mappingTail },
    ['name', 'function', 'source'],
  );

const triggerSchema = obj(
  'A push trigger: S3-style notifications over HTTP become asynchronous invokes.',
  {
    name: str('Unique trigger name.', { pattern: NAME_PATTERN, 'x-expected': NAME_EXPECTED }),
    type: oneOfStrings(['s3'], 'Trigger type.'),
    function: str('Function invoked for each matching record.', { minLength: 1 }),
    path: str('Path on the API server. Default /triggers/s3/<name>.', {
      pattern: '^/[^\\s?#]*$',
      'x-expected': 'a path starting with / (no spaces, ? or #)',
    }),
    authToken: str('Bearer token the pusher sends; empty = none.'),
    events: {
      type: 'array',
      description: 'S3 event-type patterns, e.g. s3:ObjectCreated:*. Default [s3:*].',
      minItems: 1,
      items: str('S3 event-type pattern.', {
        pattern: '^(s3:)?(\\*|[A-Za-z]+(:(\\*|[A-Za-z]+))?)$',
        'x-expected': 'an S3 event type such as s3:ObjectCreated:* or s3:ObjectRemoved:Delete',
      }),
      'x-expected': 'a list of S3 event types',
    },
    filter: obj('Object key filter.', {
      prefix: str('Key prefix.'),
      suffix: str('Key suffix.'),
    }),
    maxQueueDepth: int(
      d.TRIGGER_MAX_QUEUE_DEPTH.min,
      d.TRIGGER_MAX_QUEUE_DEPTH.max,
      'events',
      'Answer 429 (the pusher retries) while the async queue holds this many events. Default 10000.',
      d.TRIGGER_MAX_QUEUE_DEPTH.default,
    ),
  },
  ['name', 'type', 'function'],
);

/** The schema of a build with these source plugins (`config/sluice.schema.json` for sluice's). */
/** The top-level keys before `connections` (none depends on the source types). */
const topHead: Record<string, Schema> = {
  region: str('Region reported to functions and used in ARNs. Default us-east-1.', {
    minLength: 1,
  }),
  accountId: {
    type: ['string', 'integer'],
    description: '12-digit account id used in ARNs. Default 000000000000.',
    pattern: '^[0-9]{12}$',
    minimum: 0,
    maximum: 999_999_999_999,
    'x-expected': 'a 12-digit account id',
  },
  concurrency: obj('Engine-wide concurrency.', {
    limit: int(
      1,
      1_000_000,
      '',
      'Most invokes at once across all functions. Default 1000.',
      d.DEFAULT_CONCURRENCY_LIMIT,
    ),
    minimumUnreserved: int(
      0,
      1_000_000,
      '',
      'Part of limit that reservations must leave free. Default min(100, ceil(limit / 10)).',
    ),
  }),
  functions: {
    type: 'object',
    description: 'Functions by name.',
    propertyNames: {
      pattern: d.FUNCTION_NAME_PATTERN,
      'x-expected': '1–64 letters, digits, "-" or "_"',
    },
    additionalProperties: functionSchema,
    'x-expected': 'a map of function names to functions',
  },
  api: obj('The HTTP API.', {
    host: str('Interface to listen on. Default 127.0.0.1.', {
      minLength: 1,
      default: d.API_DEFAULTS.host,
    }),
    port: int(0, 65535, '', 'TCP port; 0 = any free port. Default 3001.', d.API_DEFAULTS.port),
    authToken: str('Bearer token for every route but health; empty = none.'),
    readiness: oneOfStrings(
      d.READINESS_MODES,
      '/readyz: lenient = a source outage marks its mapping degraded, the worker stays ready; strict = any degraded mapping makes it unready. Default lenient.',
      'lenient',
    ),
    allowUnauthenticated: bool(
      'Serve a non-loopback host without api.authToken (and push triggers without their own authToken). Default false: that is a config error.',
      false,
    ),
    maxConnections: int(
      d.API_MAX_CONNECTIONS.min,
      d.API_MAX_CONNECTIONS.max,
      '',
      'Most open connections; more are closed on accept. Default 1024.',
      d.API_MAX_CONNECTIONS.default,
    ),
    headersTimeoutMs: int(
      d.API_HEADERS_TIMEOUT_MS.min,
      d.API_HEADERS_TIMEOUT_MS.max,
      'ms',
      'A client must send the request head within this. Default 10000.',
      d.API_HEADERS_TIMEOUT_MS.default,
    ),
    requestTimeoutMs: int(
      d.API_REQUEST_TIMEOUT_MS.min,
      d.API_REQUEST_TIMEOUT_MS.max,
      'ms',
      'A client must send the whole request (head and body) within this; the response (a function running) is not limited. Default 60000.',
      d.API_REQUEST_TIMEOUT_MS.default,
    ),
    keepAliveTimeoutMs: int(
      d.API_KEEP_ALIVE_TIMEOUT_MS.min,
      d.API_KEEP_ALIVE_TIMEOUT_MS.max,
      'ms',
      'An idle keep-alive connection is closed after this. Default 5000.',
      d.API_KEEP_ALIVE_TIMEOUT_MS.default,
    ),
  }),
  storage: obj('The embedded store.', {
    path: str('SQLite file relative to this file, or :memory:. Default ./.sluice/state.db.', {
      minLength: 1,
      default: d.STORAGE_DEFAULT_PATH,
    }),
  }),
  logging: obj('Engine logs.', {
    level: oneOfStrings(d.LOG_LEVELS, 'Log level. Default info.', 'info'),
    format: oneOfStrings(d.LOG_FORMATS, 'json or pretty. Default json.', 'json'),
  }),
};

export function buildSluiceSchema(plugins: SourcePlugins): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://github.com/sluice/sluice/config/sluice.schema.json',
    title: 'sluice config',
    ...obj('Functions, connections, event source mappings and triggers of a sluice engine.', {
      ...topHead,
      connections: {
        type: 'object',
        description: 'Broker connections by name.',
        propertyNames: { pattern: NAME_PATTERN, 'x-expected': NAME_EXPECTED },
        additionalProperties: connectionSchema(plugins),
        'x-expected': 'a map of connection names to connections',
      },
      mappings: {
        type: 'array',
        description: 'Event source mappings.',
        items: mappingSchema(plugins),
        'x-expected': 'a list of mappings',
      },
      triggers: {
        type: 'array',
        description: 'Push triggers.',
        items: triggerSchema,
        'x-expected': 'a list of triggers',
      },
    }),
  };
}
