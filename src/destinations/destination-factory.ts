import { isFunctionDestination } from '../config/destinations.ts';
import type { DestinationConfig } from '../config/types.ts';
import type { ConnectionRegistry } from '../connections/connections.ts';
import type { SourcePlugins } from '../connectors/plugin.ts';
import { SluiceError } from '../errors.ts';
import type { Destination } from './destination.ts';
import type { AsyncInvokeSink } from '../lambda/async-invocation.ts';
import { FunctionDestination } from './function-destination.ts';

/**
 * Builds destinations from their config and shares one instance per target. A broker target is
 * built by its plugin's destination part over the shared connections; a function target is the
 * core's own (an async invoke through the queue).
 */
export class DestinationFactory {
  readonly #connections: ConnectionRegistry;
  readonly #sink: AsyncInvokeSink;
  readonly #plugins: SourcePlugins;
  readonly #cache = new Map<string, Destination>();
  #stopping: Promise<void> | undefined;

  constructor(
    connections: ConnectionRegistry,
    functionSink: AsyncInvokeSink,
    plugins: SourcePlugins,
  ) {
    this.#connections = connections;
    this.#sink = functionSink;
    this.#plugins = plugins;
  }

  get(config: DestinationConfig): Destination {
    const key = cacheKey(config);
    let destination = this.#cache.get(key);
    if (!destination) {
      destination = this.#create(config);
      this.#cache.set(key, destination);
    }
    return destination;
  }

  /** Stops every destination, each even if another failed; idempotent and awaitable. */
  stop(): Promise<void> {
    this.#stopping ??= Promise.allSettled([...this.#cache.values()].map((d) => d.stop())).then(() =>
      this.#cache.clear(),
    );
    return this.#stopping;
  }

  #create(config: DestinationConfig): Destination {
    if (isFunctionDestination(config))
      return new FunctionDestination(this.#sink, config.functionName);
    const part = this.#plugins.has(config.type)
      ? this.#plugins.get(config.type).destination
      : undefined;
    if (!part) {
      throw new SluiceError(
        'CONFIG_INVALID',
        `no destination for ${config.type} targets in this build`,
      );
    }
    return part.build(config, this.#connections);
  }
}

/** The target without the string it was written as: equal targets share one destination. */
function cacheKey(config: DestinationConfig): string {
  const { uri: _uri, ...target } = config;
  return JSON.stringify(Object.entries(target).sort(([a], [b]) => a.localeCompare(b)));
}
