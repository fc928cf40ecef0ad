/**
 * Options (as written, validated) → compiled config: defaults filled in, seconds to ms, paths made
 * absolute, destinations resolved. Pure: it runs only on a document that passed every check.
 */
import { join, resolve } from 'node:path';
import * as d from './defaults.ts';
import { compileDestination, type DestinationScope } from './destinations.ts';
import { parsePattern } from './filter-patterns.ts';
import { resolveAwsCredentials } from './function-credentials.ts';
import type {
  ConnectionOptions,
  FunctionOptions,
  LoggingConfigOptions,
  MappingOptions,
  SluiceConfigOptions,
  TriggerOptions,
} from './options.ts';
import type {
  ConnectionConfig,
  DestinationConfig,
  FilterConfig,
  FunctionConfig,
  LogLevel,
  MappingConfig,
  SluiceConfig,
  TriggerConfig,
} from './types.ts';
import type {
  ApplicationLogLevel,
  FunctionLoggingConfig,
  SystemLogLevel,
} from '../invoker/types.ts';
import { concurrencyOf, isProvided } from './validate-functions.ts';
import { bootstrapList } from './validate-connections.ts';
import { isFifoQueueUrl, timestampMs } from './validate-mappings.ts';
import { triggerPath } from './validate-triggers.ts';

export interface CompileContext {
  file: string;
  baseDir: string;
  /** Used once per function: `extensionsDir` is set when `<codeDir>/extensions` exists. */
  dirExists: (path: string) => boolean;
  /** sluice's environment: function credentials are read from it. Default none. */
  env?: Record<string, string | undefined>;
}

const secondsToMs = (s: number): number => Math.round(s * 1000);

function destination(value: unknown, scope: DestinationScope): DestinationConfig | undefined {
  return value === undefined ? undefined : compileDestination(value, scope);
}

function compileFunction(
  name: string,
  fn: FunctionOptions,
  top: { region: string; accountId: string },
  ctx: CompileContext,
): FunctionConfig {
  const codeDir = resolve(ctx.baseDir, fn.code);
  const extensionsDir = join(codeDir, 'extensions');
  const handler = fn.handler ?? (isProvided(fn.runtime) ? d.PROVIDED_DEFAULT_HANDLER : '');
  const a = fn.async ?? {};
  const scope = { ownerFunction: name };
  return {
    name,
    runtime: fn.runtime,
    handler,
    codeDir,
    memorySizeMb: fn.memorySize ?? d.MEMORY_MB.default,
    timeoutMs: secondsToMs(fn.timeout ?? d.TIMEOUT_S.default),
    environment: Object.fromEntries(
      Object.entries(fn.environment ?? {}).map(([key, value]) => [key, String(value)]),
    ),
    region: top.region,
    accountId: top.accountId,
    idleTimeoutMs: secondsToMs(fn.idleTimeout ?? d.IDLE_TIMEOUT_S.default),
    ...(ctx.dirExists(extensionsDir) ? { extensionsDir } : {}),
    ...(fn.loggingConfig ? { loggingConfig: compileLoggingConfig(fn.loggingConfig) } : {}),
    ...(fn.awsCredentials
      ? { awsCredentials: resolveAwsCredentials(fn.awsCredentials, ctx.env ?? {}) }
      : {}),
    ...(fn.awsEndpointUrl ? { awsEndpointUrl: fn.awsEndpointUrl } : {}),
    reservedConcurrency: fn.reservedConcurrency,
    provisionedConcurrency: fn.provisionedConcurrency ?? 0,
    async: {
      maximumRetryAttempts: a.maximumRetryAttempts ?? d.ASYNC_RETRIES.default,
      maximumEventAgeMs: secondsToMs(a.maximumEventAgeInSeconds ?? d.ASYNC_EVENT_AGE_S.default),
      retryDelaysMs: (a.retryDelays ?? d.ASYNC_RETRY_DELAYS_S).map(secondsToMs),
      onSuccess: destination(a.onSuccess, scope),
      onFailure: destination(a.onFailure, scope),
      deadLetter: destination(a.deadLetter, scope),
    },
  };
}

/** Levels exist only for JSON (Lambda refuses them with Text), INFO by default. */
function compileLoggingConfig(options: LoggingConfigOptions): FunctionLoggingConfig {
  if (options.logFormat !== 'JSON') return { logFormat: 'Text' };
  return {
    logFormat: 'JSON',
    applicationLogLevel: (options.applicationLogLevel ?? 'INFO') as ApplicationLogLevel,
    systemLogLevel: (options.systemLogLevel ?? 'INFO') as SystemLogLevel,
  };
}

function compileConnection(
  name: string,
  c: ConnectionOptions,
  ctx: CompileContext,
): ConnectionConfig {
  switch (c.type) {
    case 'sqs':
      return {
        type: 'sqs',
        name,
        endpoint: c.endpoint,
        region: c.region,
        credentials: c.credentials,
      };
    case 'rabbitmq':
      return { type: 'rabbitmq', name, url: c.url };
    case 'kafka': {
      const ssl = c.ssl;
      const file = (path: string | undefined): string | undefined =>
        path === undefined ? undefined : resolve(ctx.baseDir, path);
      return {
        type: 'kafka',
        name,
        bootstrapServers: bootstrapList(c.bootstrapServers) ?? [],
        clientId: c.clientId ?? d.KAFKA_DEFAULT_CLIENT_ID,
        sasl:
          c.sasl === undefined
            ? undefined
            : {
                mechanism: c.sasl.mechanism as (typeof d.SASL_MECHANISMS)[number],
                username: c.sasl.username,
                password: c.sasl.password,
              },
        ssl:
          ssl === undefined || ssl === false
            ? undefined
            : ssl === true
              ? {
                  caFile: undefined,
                  certFile: undefined,
                  keyFile: undefined,
                  rejectUnauthorized: true,
                }
              : {
                  caFile: file(ssl.ca),
                  certFile: file(ssl.cert),
                  keyFile: file(ssl.key),
                  rejectUnauthorized: ssl.rejectUnauthorized ?? true,
                },
      };
    }
  }
}

function compileFilters(m: MappingOptions): FilterConfig[] {
  return (m.filterCriteria?.filters ?? []).map(({ pattern }) => {
    const parsed = parsePattern(pattern);
    return { pattern, parsed: parsed.ok ? parsed.value : {} };
  });
}

/** −1 (Lambda's "no limit") → Infinity; with an onFailure destination Lambda caps retries at 10. */
function retries(value: number | undefined, hasDestination: boolean): number {
  const n = value ?? d.MAPPING_RETRIES.default;
  if (n >= 0) return n;
  return hasDestination ? d.RETRIES_CAP_WITH_DESTINATION : Infinity;
}

/** Provisioned pollers: the minimum defaults to the source's lowest, the maximum to 200. */
function compilePollers(
  p: MappingOptions['provisionedPollerConfig'],
  rules: d.SourceRules,
): MappingConfig['pollers'] {
  if (p === undefined || rules.minMinimumPollers === undefined) return undefined;
  const minimum = p.minimumPollers ?? rules.minMinimumPollers;
  return { minimum, maximum: p.maximumPollers ?? Math.max(d.MAXIMUM_POLLERS.default, minimum) };
}

function compileMapping(
  m: MappingOptions,
  connections: Record<string, ConnectionConfig>,
): MappingConfig {
  const connection = connections[m.source.connection] as ConnectionConfig;
  const type = connection.type;
  const rules = d.SOURCE_RULES[type];
  const base = {
    name: m.name,
    functionName: m.function,
    enabled: m.enabled ?? true,
    batchSize: m.batchSize ?? rules.defaultBatchSize,
    maximumBatchingWindowMs: secondsToMs(m.maximumBatchingWindowInSeconds ?? rules.defaultWindowS),
    filters: compileFilters(m),
    reportBatchItemFailures: (m.functionResponseTypes ?? []).includes('ReportBatchItemFailures'),
    maximumConcurrency: m.scalingConfig?.maximumConcurrency ?? rules.defaultMaximumConcurrency,
    adaptiveConcurrency: m.scalingConfig?.adaptiveConcurrency ?? true,
    pollerGrowthFactor: m.scalingConfig?.pollerGrowthFactor ?? d.POLLER_GROWTH_FACTOR.default,
    pollers: compilePollers(m.provisionedPollerConfig, rules),
  };
  const scope = { sourceConnection: { name: connection.name, type } };
  const onFailure = destination(m.destinationConfig?.onFailure, scope);
  const s = m.source;
  switch (type) {
    case 'sqs': {
      const queueUrl = s.queueUrl as string;
      const fifo = isFifoQueueUrl(queueUrl);
      const backoff = s.retryBackoff;
      const retryBackoff = backoff
        ? {
            baseMs: secondsToMs(backoff.baseSeconds),
            maximumMs: secondsToMs(
              backoff.maximumSeconds ?? d.SQS_RETRY_BACKOFF_SECONDS.defaultMaximum,
            ),
          }
        : undefined;
      return {
        ...base,
        type,
        source: { connection: connection.name, queueUrl, fifo, retryBackoff },
      };
    }
    case 'kafka': {
      const position = (s.startingPosition ?? d.DEFAULT_STARTING_POSITION) as
        'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
      const stamp = s.startingPositionTimestamp;
      const age = m.maximumRecordAgeInSeconds ?? d.RECORD_AGE_S.default;
      return {
        ...base,
        type,
        source: {
          connection: connection.name,
          topic: s.topic as string,
          consumerGroupId: s.consumerGroupId ?? `sluice-${m.name}`,
          startingPosition: position,
          startingPositionTimestampMs:
            position === 'AT_TIMESTAMP' && stamp !== undefined ? timestampMs(stamp) : undefined,
          sessionTimeoutMs: s.sessionTimeoutMs,
          heartbeatIntervalMs: s.heartbeatIntervalMs,
          commitIntervalMs: s.commitIntervalMs,
        },
        maximumRetryAttempts: retries(m.maximumRetryAttempts, onFailure !== undefined),
        maximumRecordAgeMs: age < 0 ? Infinity : secondsToMs(age),
        bisectBatchOnFunctionError: m.bisectBatchOnFunctionError ?? false,
        onFailure,
      };
    }
    case 'rabbitmq':
      return {
        ...base,
        type,
        source: {
          connection: connection.name,
          queue: s.queue as string,
          virtualHost: s.virtualHost ?? d.DEFAULT_VIRTUAL_HOST,
        },
        maximumRetryAttempts: retries(m.maximumRetryAttempts, onFailure !== undefined),
        onFailure,
      };
  }
}

function compileTrigger(t: TriggerOptions): TriggerConfig {
  return {
    name: t.name,
    type: t.type,
    functionName: t.function,
    path: triggerPath(t as unknown as Record<string, unknown>) as string,
    authToken: t.authToken === undefined || t.authToken === '' ? undefined : t.authToken,
    events: (t.events ?? d.S3_DEFAULT_EVENTS).map((e) => (e.startsWith('s3:') ? e : `s3:${e}`)),
    filter: { prefix: t.filter?.prefix ?? '', suffix: t.filter?.suffix ?? '' },
    maxQueueDepth: t.maxQueueDepth ?? d.TRIGGER_MAX_QUEUE_DEPTH.default,
  };
}

function accountIdOf(value: string | number | undefined): string {
  if (value === undefined) return d.DEFAULT_ACCOUNT_ID;
  return typeof value === 'number' ? String(value).padStart(12, '0') : value;
}

export function compileConfig(options: SluiceConfigOptions, ctx: CompileContext): SluiceConfig {
  const top = {
    region: options.region ?? d.DEFAULT_REGION,
    accountId: accountIdOf(options.accountId),
  };
  const connections: Record<string, ConnectionConfig> = Object.fromEntries(
    Object.entries(options.connections ?? {}).map(([name, c]) => [
      name,
      compileConnection(name, c, ctx),
    ]),
  );
  const storagePath = options.storage?.path ?? d.STORAGE_DEFAULT_PATH;
  const authToken = options.api?.authToken;
  return {
    file: ctx.file,
    baseDir: ctx.baseDir,
    ...top,
    concurrency: concurrencyOf(options),
    functions: Object.fromEntries(
      Object.entries(options.functions ?? {}).map(([name, fn]) => [
        name,
        compileFunction(name, fn, top, ctx),
      ]),
    ),
    api: {
      host: options.api?.host ?? d.API_DEFAULTS.host,
      port: options.api?.port ?? d.API_DEFAULTS.port,
      authToken: authToken === undefined || authToken === '' ? undefined : authToken,
      readiness: options.api?.readiness ?? 'lenient',
      allowUnauthenticated: options.api?.allowUnauthenticated ?? false,
      maxConnections: options.api?.maxConnections ?? d.API_MAX_CONNECTIONS.default,
      headersTimeoutMs: options.api?.headersTimeoutMs ?? d.API_HEADERS_TIMEOUT_MS.default,
      requestTimeoutMs: options.api?.requestTimeoutMs ?? d.API_REQUEST_TIMEOUT_MS.default,
      keepAliveTimeoutMs: options.api?.keepAliveTimeoutMs ?? d.API_KEEP_ALIVE_TIMEOUT_MS.default,
    },
    storage: { path: storagePath === ':memory:' ? storagePath : resolve(ctx.baseDir, storagePath) },
    logging: {
      level: (options.logging?.level ?? 'info') as LogLevel,
      format: (options.logging?.format ?? 'json') as 'json' | 'pretty',
    },
    connections,
    mappings: (options.mappings ?? []).map((m) => compileMapping(m, connections)),
    triggers: (options.triggers ?? []).map(compileTrigger),
  };
}
