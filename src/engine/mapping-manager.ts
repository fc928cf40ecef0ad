import { isDeepStrictEqual } from 'node:util';
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { compileFilterCriteria } from '../batching/filter-pattern.ts';
import { applyFilters } from '../batching/record-filter.ts';
import type { MappingConfig, SluiceConfig } from '../config/types.ts';
import type { SourcePlugins } from '../connectors/plugin.ts';
import type { ConnectorBundle } from '../connectors/types.ts';
import { compileMapping } from '../config/compile-mapping.ts';
import { SluiceError } from '../errors.ts';
import type { Invoker } from '../invoker/invoker.ts';
import type { MappingMetrics } from '../observability/mapping-metrics.ts';
import type { MappingState } from './mapping-state.ts';
import { MappingRunner, type MappingStatus, type RunnerSettings } from './mapping-runner.ts';

/** A mapping created through the API, as persisted. */
export interface MappingRecord {
  uuid: string;
  /** The mapping in YAML shape (so it is re-validated by the config pipeline on load). */
  options: Record<string, unknown>;
  lastModifiedMs: number;
}

/** Where API-created mappings persist (the embedded store). */
export interface MappingRepository {
  list(): Promise<MappingRecord[]>;
  put(record: MappingRecord): Promise<void>;
  delete(uuid: string): Promise<void>;
}

export type ConnectorFactory = (mapping: MappingConfig) => ConnectorBundle;

/** Everything the API reports about one mapping besides its config. */
export interface MappingMeta {
  uuid: string;
  /** Epoch ms. */
  lastModifiedMs: number;
  state: MappingState;
  stateTransitionReason: string;
  lastProcessingResult: string;
  /** 'config' (declared in YAML) or 'api' (created through the API; persisted). */
  origin: 'config' | 'api';
}

/** One mapping as the manager sees it: its compiled config and its state (the API renders it). */
export interface MappingView {
  mapping: MappingConfig;
  meta: MappingMeta;
}

/** Mapping options (YAML shape) → the options to compile instead (an API update request). */
export type OptionsPatch = (options: Record<string, unknown>) => Record<string, unknown>;

export interface MappingManagerOptions {
  config: SluiceConfig;
  invoker: Invoker;
  connectorFactory: ConnectorFactory;
  /** The source types of this build: runner defaults, filter data keys, rebuild rules. */
  plugins: SourcePlugins;
  repository?: MappingRepository;
  logger: Logger;
  metrics: MappingMetrics;
  /**
   * Checks an API-created mapping's source before it is accepted (an SQS queue that does not
   * exist); throws `INVALID_REQUEST`. YAML mappings are not checked: they retry in the background.
   */
  checkSource?: (mapping: MappingConfig) => Promise<void>;
}

interface Entry {
  uuid: string;
  origin: 'config' | 'api';
  mapping: MappingConfig;
  options: Record<string, unknown> | undefined;
  runner: MappingRunner;
  /** The connector and its policies, kept when an update replaces only the runner. */
  bundle: ConnectorBundle;
  lastModifiedMs: number;
}

/** Deterministic UUID for a YAML mapping, so it keeps its id across restarts. */
export function configMappingUuid(name: string): string {
  const h = createHash('sha1').update(`sluice-mapping:${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Runner settings for a compiled mapping: ordering and window semantics from its source's plugin. */
export function runnerSettings(m: MappingConfig, plugins: SourcePlugins): RunnerSettings {
  return {
    name: m.name,
    functionName: m.functionName,
    enabled: m.enabled,
    batchSize: m.batchSize,
    maximumBatchingWindowMs: m.maximumBatchingWindowMs,
    reportBatchItemFailures: m.reportBatchItemFailures,
    maximumConcurrency: m.maximumConcurrency,
    adaptiveConcurrency: m.adaptiveConcurrency,
    pollerGrowthFactor: m.pollerGrowthFactor,
    pollers: m.pollers,
    ...plugins.get(m.type).runnerDefaults(m),
  };
}

/**
 * Owns every mapping's runner: the ones declared in YAML and the ones created through the API
 * (persisted in the store and restored at start). Serves the event-source-mapping API operations.
 */
export class MappingManager {
  readonly #o: MappingManagerOptions;
  readonly #entries = new Map<string, Entry>();
  #stopping: Promise<{ abandonedBatches: number }> | undefined;

  constructor(options: MappingManagerOptions) {
    this.#o = options;
  }

  /** Builds every mapping (YAML, then persisted API ones) and starts their runners. */
  async start(): Promise<void> {
    for (const m of this.#o.config.mappings)
      this.#add(configMappingUuid(m.name), 'config', m, undefined, Date.now());
    for (const record of (await this.#o.repository?.list()) ?? []) {
      try {
        const m = compileMapping(
          this.#o.config,
          record.options,
          `event-source-mapping ${record.uuid}`,
          this.#o.plugins,
        );
        // A YAML mapping (or an earlier stored one) added since may read the same source.
        this.#refuseDuplicate(m, undefined);
        this.#add(record.uuid, 'api', m, record.options, record.lastModifiedMs);
      } catch (err) {
        // A stored mapping the current config no longer supports (its function or connection is
        // gone, or a YAML mapping now reads its source): keep it in the store, say why, and do
        // not start it.
        this.#o.logger.error(
          { uuid: record.uuid, err: (err as Error).message },
          'stored mapping is not valid with this config; not started',
        );
      }
    }
    await Promise.all([...this.#entries.values()].map((e) => e.runner.start()));
  }

  statuses(): MappingStatus[] {
    return [...this.#entries.values()].map((e) => e.runner.status());
  }

  describe(uuid: string): MappingView {
    const e = this.#get(uuid);
    return this.#describe(e);
  }

  /** Every mapping (of one function, if named), in UUID order. */
  list(filter: { functionName?: string }): MappingView[] {
    return [...this.#entries.values()]
      .filter((e) => !filter.functionName || e.mapping.functionName === filter.functionName)
      .sort((a, b) => a.uuid.localeCompare(b.uuid))
      .map((e) => this.#describe(e));
  }

  /**
   * Creates, persists and starts a mapping from the options `optionsFor` gives for its new UUID
   * (compiled by the config pipeline; `CONFIG_INVALID` when invalid).
   */
  async create(optionsFor: (uuid: string) => Record<string, unknown>): Promise<MappingView> {
    const uuid = randomUUID();
    const options = optionsFor(uuid);
    // An unknown function is a missing resource (404), as Lambda answers, not a bad parameter.
    this.#requireFunction(String(options.function));
    const mapping = this.#compile(options, 'CreateEventSourceMapping request');
    this.#refuseDuplicate(mapping, undefined);
    await this.#o.checkSource?.(mapping);
    const now = Date.now();
    await this.#o.repository?.put({ uuid, options, lastModifiedMs: now });
    const entry = this.#add(uuid, 'api', mapping, options, now);
    // Lambda answers Creating, or Disabled for a mapping created disabled.
    const response = this.#describe(entry, mapping.enabled ? 'Creating' : 'Disabled');
    void entry.runner.start();
    return response;
  }

  /** Applies `patch` to the mapping's options and the result to its runner (State: Updating). */
  async update(uuid: string, patch: OptionsPatch): Promise<MappingView> {
    const e = this.#get(uuid);
    if (e.origin === 'config') {
      // YAML mappings: run-time changes of enablement and batching, not persisted (the file wins
      // at the next start).
      const patched = patch(mappingToOptions(e.mapping, this.#o.plugins));
      const next = this.#compile(patched, 'UpdateEventSourceMapping request');
      return this.#applyRunnerUpdate(e, next, undefined);
    }
    const options = patch(e.options ?? {});
    this.#requireFunction(String(options.function));
    const next = this.#compile(options, 'UpdateEventSourceMapping request');
    this.#refuseDuplicate(next, e.uuid);
    return this.#applyRunnerUpdate(e, next, options);
  }

  /** Stops and forgets an API-created mapping (State: Deleting); YAML ones are refused. */
  async delete(uuid: string): Promise<MappingView> {
    const e = this.#get(uuid);
    if (e.origin === 'config') {
      throw new SluiceError(
        'INVALID_REQUEST',
        `mapping ${e.mapping.name} is declared in ${this.#o.config.file}; remove it there (disable it here)`,
      );
    }
    await this.#o.repository?.delete(uuid);
    const done = e.runner.delete();
    const response = this.#describe(e, 'Deleting');
    void done.finally(() => this.#entries.delete(uuid));
    return response;
  }

  /** Stops every runner within the deadline. Idempotent and awaitable. */
  stop(deadlineMs = 30_000): Promise<{ abandonedBatches: number }> {
    this.#stopping ??= (async () => {
      const results = await Promise.all(
        [...this.#entries.values()].map((e) => e.runner.stop(deadlineMs)),
      );
      return { abandonedBatches: results.reduce((n, r) => n + r.abandonedBatches, 0) };
    })();
    return this.#stopping;
  }

  #requireFunction(functionName: string): void {
    if (!this.#o.invoker.functionSpec(functionName)) {
      throw new SluiceError('FUNCTION_NOT_FOUND', `Function not found: ${functionName}`, {
        context: { functionName },
      });
    }
  }

  /** One mapping per source identity (its plugin's `identity`), as Lambda: 409 naming the other. */
  #refuseDuplicate(mapping: MappingConfig, self: string | undefined): void {
    const plugin = this.#o.plugins.get(mapping.type);
    const key = plugin.identity(mapping);
    for (const other of this.#entries.values()) {
      if (other.uuid === self || other.mapping.type !== mapping.type) continue;
      if (plugin.identity(other.mapping) !== key) continue;
      throw new SluiceError('MAPPING_CONFLICT', duplicateMessage(mapping, other.uuid, this.#o), {
        context: { uuid: other.uuid },
      });
    }
  }

  #compile(options: Record<string, unknown>, what: string): MappingConfig {
    return compileMapping(this.#o.config, options, what, this.#o.plugins);
  }

  async #applyRunnerUpdate(
    e: Entry,
    next: MappingConfig,
    options: Record<string, unknown> | undefined,
  ): Promise<MappingView> {
    const now = Date.now();
    if (options) await this.#o.repository?.put({ uuid: e.uuid, options, lastModifiedMs: now });
    if (needsNewRunner(e.mapping, next)) {
      // The function, filters, retry rules, destination, source settings… are fixed in a running
      // runner and its connector: a new one replaces it once the old one has drained (in-flight
      // batches finish and settle; unsettled records return to the source).
      // Same source and failure handling: the connector (an SQS poller's open long polls, a Kafka
      // consumer's group membership) carries over; otherwise a new one is built.
      const keep = !needsNewConnector(e.mapping, next, this.#o.plugins);
      await e.runner.stop(REBUILD_DRAIN_MS, 'Disabled', { keepConnector: keep });
      const bundle = keep ? e.bundle : undefined;
      const fresh = this.#add(e.uuid, e.origin, next, options ?? e.options, now, bundle);
      void fresh.runner.start();
      return this.#describe(fresh, 'Updating');
    }
    e.mapping = next;
    e.options = options ?? e.options;
    e.lastModifiedMs = now;
    const s = runnerSettings(next, this.#o.plugins);
    // Not awaited: a disable answers Disabling at once and Get shows it while the pollers drain
    // (Lambda's order); an enable answers Enabling. The runner's state moves synchronously.
    const updating = e.runner.update({
      enabled: s.enabled,
      batchSize: s.batchSize,
      maximumBatchingWindowMs: s.maximumBatchingWindowMs,
      reportBatchItemFailures: s.reportBatchItemFailures,
      maximumConcurrency: s.maximumConcurrency,
      pollers: s.pollers,
    });
    const moving = e.runner.status().state;
    const response = this.#describe(
      e,
      moving === 'Disabling' || moving === 'Enabling' ? moving : 'Updating',
    );
    updating.catch((err: unknown) =>
      this.#o.logger.error({ uuid: e.uuid, err: (err as Error).message }, 'mapping update failed'),
    );
    return response;
  }

  #add(
    uuid: string,
    origin: Entry['origin'],
    mapping: MappingConfig,
    options: Record<string, unknown> | undefined,
    lastModifiedMs: number,
    reuse?: ConnectorBundle,
  ): Entry {
    const bundle = reuse ?? this.#o.connectorFactory(mapping);
    const compiled = compileFilterCriteria(mapping.filters.map((f) => f.pattern));
    const data = this.#o.plugins.get(mapping.type).filterData;
    const runner = new MappingRunner({
      settings: {
        ...runnerSettings(mapping, this.#o.plugins),
        ...(bundle.idleWaitMs === undefined ? {} : { idleWaitMs: bundle.idleWaitMs }),
      },
      connector: bundle.connector,
      invoker: this.#o.invoker,
      ...(mapping.filters.length > 0
        ? { filter: (r) => applyFilters(compiled, r.event, data) }
        : {}),
      ...(bundle.failurePolicy ? { failurePolicy: bundle.failurePolicy } : {}),
      ...(bundle.identify ? { identify: bundle.identify } : {}),
      logger: this.#o.logger.child({ mapping: mapping.name, uuid }),
      metrics: this.#o.metrics,
    });
    const entry: Entry = { uuid, origin, mapping, options, runner, bundle, lastModifiedMs };
    this.#entries.set(uuid, entry);
    return entry;
  }

  #get(uuid: string): Entry {
    const e = this.#entries.get(uuid);
    if (!e)
      throw new SluiceError(
        'MAPPING_NOT_FOUND',
        `The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: ${randomUUID()})`,
        { context: { uuid } },
      );
    return e;
  }

  /** The mapping now; `answering` is the state an operation's answer reports instead. */
  #describe(e: Entry, answering?: MappingState): MappingView {
    const s = e.runner.status();
    return {
      mapping: e.mapping,
      meta: {
        uuid: e.uuid,
        lastModifiedMs: e.lastModifiedMs,
        state: answering ?? s.state,
        stateTransitionReason: s.stateTransitionReason,
        lastProcessingResult: s.lastProcessingResult,
        origin: e.origin,
      },
    };
  }
}

/** A compiled mapping back in YAML shape (for run-time updates of YAML mappings). */
/** How long an update that replaces a mapping's runner lets the old one's batches finish. */
const REBUILD_DRAIN_MS = 30_000;

/**
 * Whether `next` differs from `current` in more than what `MappingRunner.update` changes live
 * (enablement, batching, ReportBatchItemFailures, concurrency, pollers).
 */
export function needsNewRunner(current: MappingConfig, next: MappingConfig): boolean {
  const fixed = (m: MappingConfig) => ({
    ...m,
    enabled: undefined,
    batchSize: undefined,
    maximumBatchingWindowMs: undefined,
    reportBatchItemFailures: undefined,
    maximumConcurrency: undefined,
    pollers: undefined,
  });
  return !isDeepStrictEqual(fixed(current), fixed(next));
}

/** Whether the connector must be rebuilt: its source, or what its plugin builds it from, changed. */
export function needsNewConnector(
  current: MappingConfig,
  next: MappingConfig,
  plugins: SourcePlugins,
): boolean {
  const inputs = (m: MappingConfig) => ({
    type: m.type,
    source: m.source,
    ...plugins.get(m.type).connectorInputs(m),
  });
  return !isDeepStrictEqual(inputs(current), inputs(next));
}

/**
 * A compiled mapping back in the YAML mapping's shape, so a YAML mapping can take an API update
 * (the update is applied to this, then compiled again). Every key must survive the round trip:
 * one left out would silently fall back to its default on the first UpdateEventSourceMapping.
 * The common keys are here; the source's own (its `source:`, retries, destination) its plugin's.
 */
export function mappingToOptions(
  m: MappingConfig,
  plugins: SourcePlugins,
): Record<string, unknown> {
  return {
    name: m.name,
    function: m.functionName,
    enabled: m.enabled,
    batchSize: m.batchSize,
    maximumBatchingWindowInSeconds: m.maximumBatchingWindowMs / 1000,
    ...(m.filters.length
      ? { filterCriteria: { filters: m.filters.map((f) => ({ pattern: f.pattern })) } }
      : {}),
    ...(m.reportBatchItemFailures ? { functionResponseTypes: ['ReportBatchItemFailures'] } : {}),
    scalingConfig: {
      ...(m.maximumConcurrency !== undefined ? { maximumConcurrency: m.maximumConcurrency } : {}),
      adaptiveConcurrency: m.adaptiveConcurrency,
      pollerGrowthFactor: m.pollerGrowthFactor,
    },
    ...(m.pollers
      ? {
          provisionedPollerConfig: {
            minimumPollers: m.pollers.minimum,
            maximumPollers: m.pollers.maximum,
          },
        }
      : {}),
    ...plugins.get(m.type).toOptions(m),
  };
}

/** Lambda's ResourceConflictException text, worded by the source's plugin where it has one. */
function duplicateMessage(
  mapping: MappingConfig,
  existingUuid: string,
  o: Pick<MappingManagerOptions, 'config' | 'plugins'>,
): string {
  const plugin = o.plugins.get(mapping.type);
  const source =
    plugin.duplicateSource?.(mapping, o.config) ??
    `event source (" ${plugin.eventSourceArn(mapping, o.config) ?? plugin.identity(mapping)} ")`;
  return `An event source mapping with ${source} and function (" ${mapping.functionName} ") already exists. Please update or delete the existing mapping with UUID ${existingUuid}`;
}
