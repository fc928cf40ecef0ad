/**
 * The one way a test starts an engine. A thin wrapper over `Engine` today; when the application
 * gets its programmatic entry point, only this file changes.
 */
import { loadConfigFromString } from '../../src/app/config.ts';
import type { LoadConfigFromStringOptions } from '../../src/config/load-config.ts';
import type { SluiceConfig } from '../../src/config/types.ts';
import { Engine, type EngineOptions } from '../../src/app/sluice-app.ts';
import { silentLogger } from '../../src/observability/logger.ts';

export interface StartTestEngineOptions extends EngineOptions {
  /** How YAML text is loaded (`file` names it and anchors relative paths). */
  load?: Omit<LoadConfigFromStringOptions, 'plugins'>;
}

/**
 * Loads `config` if it is YAML text, starts an engine on it with a silent logger (unless one is
 * given) and returns it started. A start that fails stops what it started before rethrowing.
 * The caller stops the engine (`engine.stop(deadlineMs)`).
 */
export async function startTestEngine(
  config: SluiceConfig | string,
  { load, ...engineOptions }: StartTestEngineOptions = {},
): Promise<Engine> {
  const loaded = typeof config === 'string' ? loadConfigFromString(config, load) : config;
  const engine = new Engine(loaded, { logger: silentLogger(), ...engineOptions });
  try {
    await engine.start();
  } catch (err) {
    await engine.stop(1000);
    throw err;
  }
  return engine;
}

/** `http://127.0.0.1:<port>` of a started engine's API. */
export function apiEndpoint(engine: Engine): string {
  const address = engine.api?.address();
  if (!address) throw new Error('the engine has no API');
  return `http://127.0.0.1:${address.port}`;
}
