import type { AsyncConfig } from '../config/types.ts';
import type { StateStore, StoredEventInvokeConfig } from '../store/state-store.ts';

export const DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 2;
export const DEFAULT_MAXIMUM_EVENT_AGE_MS = 21_600_000;

export interface EventInvokeConfigsOptions {
  /** Each function's `async` section from the config file (compiled, defaults filled in). */
  fileConfigs: Record<string, AsyncConfig>;
  store: StateStore;
  /** Injected clock; default Date.now. */
  now?: () => number;
}

/** What GET answers for a function: where its config came from and when it last changed. */
export interface ShownEventInvokeConfig {
  maximumRetryAttempts: number;
  maximumEventAgeMs: number;
  onSuccess: AsyncConfig['onSuccess'];
  onFailure: AsyncConfig['onFailure'];
  lastModifiedMs: number;
}

/**
 * The effective async config of each function: the file's `async` section, with what was set
 * through the event-invoke-config API laid over it (MaximumRetryAttempts,
 * MaximumEventAgeInSeconds, OnSuccess, OnFailure — the fields Lambda's API has); `retryDelays`
 * and `deadLetter` always come from the file. Once the API has set (or deleted) a function's
 * config, the stored value wins over the file, also after restarts — like a run-time change to
 * reserved concurrency. Reads are from memory: the worker looks the config up for every event.
 */
export class EventInvokeConfigs {
  readonly #options: EventInvokeConfigsOptions;
  readonly #now: () => number;
  readonly #loadedAtMs: number;
  readonly #overrides = new Map<string, StoredEventInvokeConfig>();
  readonly #effective = new Map<string, AsyncConfig>();

  constructor(options: EventInvokeConfigsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#loadedAtMs = this.#now();
  }

  /** Reads the stored overrides (call once before the worker starts). */
  async load(): Promise<void> {
    for (const [name, stored] of await this.#options.store.listEventInvokeConfigs()) {
      this.#overrides.set(name, stored);
    }
    this.#effective.clear();
  }

  /** The config to apply to an event of `functionName`; undefined for an unknown function. */
  get(functionName: string): AsyncConfig | undefined {
    let cfg = this.#effective.get(functionName);
    if (!cfg) {
      const file = this.#options.fileConfigs[functionName];
      if (!file) return undefined;
      const o = this.#overrides.get(functionName);
      cfg = o
        ? {
            ...file,
            maximumRetryAttempts: o.maximumRetryAttempts,
            maximumEventAgeMs: o.maximumEventAgeMs,
            onSuccess: o.onSuccess,
            onFailure: o.onFailure,
          }
        : file;
      this.#effective.set(functionName, cfg);
    }
    return cfg;
  }

  /**
   * What GetFunctionEventInvokeConfig shows; undefined when the function has none (no API
   * override and nothing beyond the defaults in the file, or deleted through the API).
   */
  shown(functionName: string): ShownEventInvokeConfig | undefined {
    const o = this.#overrides.get(functionName);
    if (o) return o.deleted ? undefined : o;
    const f = this.#options.fileConfigs[functionName];
    const declared =
      f !== undefined &&
      (f.maximumRetryAttempts !== DEFAULT_MAXIMUM_RETRY_ATTEMPTS ||
        f.maximumEventAgeMs !== DEFAULT_MAXIMUM_EVENT_AGE_MS ||
        f.onSuccess !== undefined ||
        f.onFailure !== undefined);
    return declared ? { ...f, lastModifiedMs: this.#loadedAtMs } : undefined;
  }

  async put(
    functionName: string,
    config: Omit<StoredEventInvokeConfig, 'lastModifiedMs' | 'deleted'>,
  ): Promise<StoredEventInvokeConfig> {
    const stored: StoredEventInvokeConfig = { ...config, lastModifiedMs: this.#now() };
    await this.#options.store.putEventInvokeConfig(functionName, stored);
    this.#set(functionName, stored);
    return stored;
  }

  /** Deletes the function's config (defaults apply); false when it had none. */
  async delete(functionName: string): Promise<boolean> {
    if (!this.shown(functionName)) return false;
    const tombstone: StoredEventInvokeConfig = {
      maximumRetryAttempts: DEFAULT_MAXIMUM_RETRY_ATTEMPTS,
      maximumEventAgeMs: DEFAULT_MAXIMUM_EVENT_AGE_MS,
      onSuccess: undefined,
      onFailure: undefined,
      lastModifiedMs: this.#now(),
      deleted: true,
    };
    await this.#options.store.putEventInvokeConfig(functionName, tombstone);
    this.#set(functionName, tombstone);
    return true;
  }

  /** Functions that have a config to list. */
  functionNames(): string[] {
    const names = new Set([...Object.keys(this.#options.fileConfigs), ...this.#overrides.keys()]);
    return [...names].filter((n) => this.shown(n) !== undefined).sort();
  }

  #set(functionName: string, stored: StoredEventInvokeConfig): void {
    this.#overrides.set(functionName, stored);
    this.#effective.delete(functionName);
  }
}
