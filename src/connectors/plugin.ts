/**
 * A broker as a plugin (#16): everything the core (config, engine, API, app) needs to know about
 * one source type, in one object per connector folder (`connectors/<name>/plugin.ts`). The core
 * never names a broker: it asks the registry (`SourcePlugins`) for the plugin of a mapping's or a
 * connection's `type` and calls it. A new broker is its own folder plus one registration line in
 * `src/app/plugins.ts`.
 *
 * The seam imports nothing of sluice's: the shapes below are the core's vocabulary, structurally
 * satisfied by the compiled config (`SluiceConfig`, `MappingConfig`), so plugins need not read
 * the config core.
 */
import { SluiceError } from '../errors.ts';
import type { ConnectorBundle } from './types.ts';
import type { JsonSchema } from './schema-kit.ts';
import type { DestinationBase, DestinationPart } from './destination-plugin.ts';
export type { DestinationBase } from './destination-plugin.ts';

/** A key path into the config document (`['mappings', 0, 'source', 'topic']`). */
export type PathSegment = string | number;

/** Where a plugin's checks report problems (the config core's `Problems`). */
export interface ProblemSink {
  add(
    path: PathSegment[],
    message: string,
    extra?: { target?: 'key' | 'value'; offsetInValue?: number },
  ): void;
}

/** The fields every compiled mapping has, whatever its source (durations in ms). */
export interface MappingConfigBase {
  name: string;
  functionName: string;
  /** Default true. */
  enabled: boolean;
  /** Default per source (the plugin's `rules.defaultBatchSize`). */
  batchSize: number;
  /** Default per source (the plugin's `rules.defaultWindowS`). */
  maximumBatchingWindowMs: number;
  /** Empty = every record matches. */
  filters: { pattern: string; parsed: Record<string, unknown> }[];
  /** `functionResponseTypes` includes `ReportBatchItemFailures`. Default false. */
  reportBatchItemFailures: boolean;
  /** Undefined = only the function and engine ceilings apply. */
  maximumConcurrency: number | undefined;
  /** `scalingConfig.adaptiveConcurrency`: the throughput tuner picks invokes in flight. Default true. */
  adaptiveConcurrency: boolean;
  /** `scalingConfig.pollerGrowthFactor`: pollers × this per busy second, ÷ per idle one. Default 2. */
  pollerGrowthFactor: number;
  /** `provisionedPollerConfig`: receive loops kept between these; undefined = scaled 2–1250. */
  pollers: { minimum: number; maximum: number } | undefined;
}

/** A compiled mapping as the core sees it; each plugin narrows `type`, `source` and its extras. */
export interface SourceMapping extends MappingConfigBase {
  type: string;
  source: { connection: string };
}

/** A compiled connection as the core sees it; each plugin narrows its own. */
export interface ConnectionBase {
  type: string;
  name: string;
}

/** The running config, as much of it as plugins read (region and account for ARNs). */
export interface PluginContext {
  region: string;
  accountId: string;
  connections: Readonly<Record<string, ConnectionBase>>;
}

/** Per-source defaults and limits of a mapping (lambda-esm.md §1), in the YAML's units. */
export interface SourceRules {
  defaultBatchSize: number;
  /** Seconds. */
  defaultWindowS: number;
  /** Lowest `scalingConfig.maximumConcurrency` accepted. */
  minMaximumConcurrency: number;
  /** `scalingConfig.maximumConcurrency` when unset (undefined = only the function/engine ceilings). */
  defaultMaximumConcurrency: number | undefined;
  /** Retry controls and an onFailure destination are accepted. */
  retryControls: boolean;
  /** `maximumRecordAgeInSeconds`, `bisectBatchOnFunctionError` are accepted. */
  recordAgeAndBisect: boolean;
  /** Lowest `provisionedPollerConfig.minimumPollers`; undefined = the source has no such mode. */
  minMinimumPollers: number | undefined;
  /** Why a mapping-level key the source does not take is refused (after "is not supported …: "). */
  unsupportedKeyReason: string;
}

/** How the runner treats the source's records. */
export interface RunnerDefaults {
  /** Records of one lane keep their order (one batch per lane at a time). */
  ordered: boolean;
  /** `caller`: the batching window runs from the poll; `first-record`: from the first record. */
  windowMode: 'caller' | 'first-record';
  /** Where the throughput tuner starts (invokes in flight). */
  initialInvokeConcurrency: number;
}

/**
 * The record field filters see as the payload, and how it is written: `json-text` (an SQS body:
 * matched as JSON when it is an object or array, else as the string) or `base64-json` (Kafka's
 * `value`, RabbitMQ's `data`: base64 of UTF-8 JSON, else absent).
 */
export interface FilterData {
  key: string;
  encoding: 'json-text' | 'base64-json';
}

/** A Lambda CreateEventSourceMapping request, read field by field by the plugins. */
export type MappingRequest = Readonly<Record<string, unknown>>;

/**
 * Picks the connection of a type that serves a request (the API's rules: Tags, hints, the only
 * one). With `required`, the hint must match: else `INVALID_REQUEST` saying `<what> is declared by
 * no <type> connection` (a credential the request names selects its connection, never another).
 */
export type ConnectionPicker = (
  type: string,
  hint?: (c: ConnectionBase) => boolean,
  required?: { what: string; field: string },
) => ConnectionBase;

/** What the config core hands a plugin's compile step. */
export interface SourceCompileContext {
  /** The mapping's connection, compiled. */
  connection: ConnectionBase;
  /** The mapping's onFailure destination, compiled (undefined when none). */
  onFailure: DestinationBase | undefined;
  /** Lambda's `maximumRetryAttempts`: −1 → Infinity, capped at 10 with an onFailure destination. */
  retries(value: number | undefined): number;
}

/** What the config core hands a plugin's checks. */
export interface SourceCheckContext {
  problems: ProblemSink;
  /** A value as error messages show it (secrets masked, long text cut). */
  show(value: unknown, path: readonly PathSegment[]): string;
  /** Folder relative paths are resolved against. */
  baseDir: string;
  fileExists(path: string): boolean;
  /** Epoch ms, for "not in the future" checks. */
  now: number;
}

export interface SourcePlugin<
  M extends SourceMapping = SourceMapping,
  C extends ConnectionBase = ConnectionBase,
  D = never,
> {
  /** The `type` of its connections and mappings (`sqs`, `kafka`, …). */
  readonly type: string;
  /** The type with its article, as messages say it: `an sqs`, `a kafka`. */
  readonly withArticle: string;

  // — config: schema fragments, checks, compile —
  readonly rules: SourceRules;
  /** Its connection's keys (besides `type`), for the JSON Schema. */
  readonly connectionSchema: {
    description: string;
    properties: Record<string, JsonSchema>;
    required?: string[];
  };
  /** Its `source:` keys (besides `connection`), for the JSON Schema, and the one required. */
  readonly sourceSchema: {
    summary: string;
    properties: Record<string, JsonSchema>;
    required: string;
  };
  checkConnection?(
    name: string,
    connection: Record<string, unknown>,
    ctx: SourceCheckContext,
  ): void;
  /** Cross-field checks of a mapping's `source:` and source-specific mapping keys. */
  checkMapping?(
    base: PathSegment[],
    mapping: Record<string, unknown>,
    source: Record<string, unknown>,
    ctx: SourceCheckContext,
  ): void;
  /** A reason the onFailure destination is refused (e.g. it loops into the source), or undefined. */
  onFailureProblem?(
    destination: DestinationBase & Record<string, unknown>,
    source: Record<string, unknown>,
    sameConnection: boolean,
  ): string | undefined;
  compileConnection(name: string, options: Record<string, unknown>, baseDir: string): C;
  /** The compiled mapping: the common fields are compiled by the core (`base`). */
  compileMapping(
    base: MappingConfigBase,
    options: Record<string, unknown>,
    ctx: SourceCompileContext,
  ): M;
  /** A connection's options as written, enough to compile a mapping against it again. */
  connectionOptions(connection: C): Record<string, unknown>;
  /** The compiled mapping's own keys back in YAML shape (`source:` and its mapping-level keys). */
  toOptions(mapping: M): Record<string, unknown>;

  // — engine —
  runnerDefaults(mapping: M): RunnerDefaults;
  readonly filterData: FilterData;
  /** What the connector is built from: a change of any of it rebuilds the connector. */
  connectorInputs(mapping: M): Record<string, unknown>;
  /** The source a mapping reads, as a key: two mappings with equal keys duplicate each other. */
  identity(mapping: M): string;
  /**
   * How Lambda's duplicate-mapping message names the source (`SQS arn (" <arn> ")`); undefined =
   * the core's `event source (" <EventSourceArn> ")`.
   */
  duplicateSource?(mapping: M, ctx: PluginContext): string;
  /**
   * A reason to refuse an API-created mapping before it is accepted (its source does not exist),
   * or undefined. Unreachable sources are not refused: they retry in the background.
   */
  checkSource?(mapping: M, deps: D): Promise<string | undefined>;
  /** The connector bundle of a mapping (its builder). */
  build(mapping: M, deps: D): ConnectorBundle;

  // — API —
  /** The `EventSourceArn` Lambda would report, if the source has one. */
  eventSourceArn(mapping: M, ctx: PluginContext): string | undefined;
  /** Its fields of `EventSourceMappingConfiguration` (source, retry and destination settings). */
  toApiFields(mapping: M, ctx: PluginContext): Record<string, unknown>;
  /** How a create request names this source, for the "name the source" message. */
  readonly requestHint: string;
  /** A create request's `source:` options when the request names this source, else undefined. */
  requestToSource(
    request: MappingRequest,
    pick: ConnectionPicker,
  ): Record<string, unknown> | undefined;

  // — destination —
  /** The broker as a destination (its string forms and sender), if it is one. */
  readonly destination?: DestinationPart;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds plugins of every mapping type
export type AnySourcePlugin = SourcePlugin<any, any, any>;

/** The plugins of this build, in registration order (the order of schema keys and messages). */
export class SourcePlugins<D = unknown> {
  readonly #byType = new Map<string, AnySourcePlugin>();

  constructor(plugins: readonly SourcePlugin<never, never, D>[] | readonly AnySourcePlugin[]) {
    for (const p of plugins as readonly AnySourcePlugin[]) {
      if (this.#byType.has(p.type)) throw new Error(`source plugin ${p.type} registered twice`);
      this.#byType.set(p.type, p);
    }
  }

  get all(): AnySourcePlugin[] {
    return [...this.#byType.values()];
  }

  get types(): string[] {
    return [...this.#byType.keys()];
  }

  has(type: unknown): type is string {
    return typeof type === 'string' && this.#byType.has(type);
  }

  /** The plugin of `type`; `CONNECTOR` when this build has none. */
  get(type: string): SourcePlugin<SourceMapping, ConnectionBase, D> {
    const p = this.#byType.get(type);
    if (!p) throw new SluiceError('CONNECTOR', `no connector for ${type} sources in this build`);
    return p;
  }
}

/** `a, b or c`. */
export function listWithOr(items: readonly string[]): string {
  return items.length <= 1
    ? items.join('')
    : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** A compiled onFailure destination back in YAML shape (broker targets name their connection). */
export function onFailureOptions(
  destination: (DestinationBase & { connection?: string }) | undefined,
): Record<string, unknown> {
  if (!destination) return {};
  const connection =
    destination.connection === undefined ? {} : { connection: destination.connection };
  return { destinationConfig: { onFailure: { destination: destination.uri, ...connection } } };
}

/** Lambda's −1 for "no limit" where sluice compiles Infinity. */
export function lambdaLimit(value: number): number {
  return Number.isFinite(value) ? value : -1;
}
