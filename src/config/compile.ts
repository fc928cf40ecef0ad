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
import type { SourcePlugins, SourceRules } from '../connectors/plugin.ts';
import { triggerPath } from './validate-triggers.ts';

export interface CompileContext {
  file: string;
  baseDir: string;
  /** Used once per function: `extensionsDir` is set when `<codeDir>/extensions` exists. */
  dirExists: (path: string) => boolean;
  /** sluice's environment: function credentials are read from it. Default none. */
  env?: Record<string, string | undefined>;
  /** The source types of this build: each compiles its connections and mappings. */
  plugins: SourcePlugins;
}

const secondsToMs = (s: number): number => Math.round(s * 1000);

function destination(
  value: unknown,
  scope: DestinationScope,
  plugins: SourcePlugins,
): DestinationConfig | undefined {
  return value === undefined ? undefined : compileDestination(value, scope, plugins);
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
      onSuccess: destination(a.onSuccess, scope, ctx.plugins),
      onFailure: destination(a.onFailure, scope, ctx.plugins),
      deadLetter: destination(a.deadLetter, scope, ctx.plugins),
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
  rules: SourceRules,
): MappingConfig['pollers'] {
  if (p === undefined || rules.minMinimumPollers === undefined) return undefined;
  const minimum = p.minimumPollers ?? rules.minMinimumPollers;
  return { minimum, maximum: p.maximumPollers ?? Math.max(d.MAXIMUM_POLLERS.default, minimum) };
}

/** The common fields here; the source's own (its `source:`, retries, destination) by its plugin. */
function compileMapping(
  m: MappingOptions,
  connections: Record<string, ConnectionConfig>,
  plugins: SourcePlugins,
): MappingConfig {
  const connection = connections[m.source.connection] as ConnectionConfig;
  const type = connection.type;
  const plugin = plugins.get(type);
  const rules = plugin.rules;
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
  const onFailure = rules.retryControls
    ? destination(m.destinationConfig?.onFailure, scope, plugins)
    : undefined;
  return plugin.compileMapping(base, m as unknown as Record<string, unknown>, {
    connection,
    onFailure,
    retries: (value) => retries(value, onFailure !== undefined),
  });
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
      ctx.plugins
        .get(c.type)
        .compileConnection(name, c as unknown as Record<string, unknown>, ctx.baseDir),
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
    mappings: (options.mappings ?? []).map((m) => compileMapping(m, connections, ctx.plugins)),
    triggers: (options.triggers ?? []).map(compileTrigger),
  };
}
