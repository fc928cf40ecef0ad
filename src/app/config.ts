/**
 * The config pipeline bound to this build's source plugins: what the CLI, the tests and the
 * benches load a `sluice.yaml` with.
 */
import {
  loadConfig as loadWith,
  loadConfigFromString as loadStringWith,
  type LoadConfigFromStringOptions,
  type LoadConfigOptions,
} from '../config/load-config.ts';
import { buildSluiceSchema } from '../config/schema.ts';
import type { SluiceConfig } from '../config/types.ts';
import { SOURCE_PLUGINS } from './plugins.ts';

type WithoutPlugins<T> = Omit<T, 'plugins'>;

/** Loads, checks and compiles a config file. Throws CONFIG_NOT_FOUND or CONFIG_INVALID. */
export function loadConfig(
  path: string,
  env: Record<string, string | undefined> = process.env,
  options: WithoutPlugins<Omit<LoadConfigOptions, 'env'>> = {},
): Promise<SluiceConfig> {
  return loadWith(path, env, { ...options, plugins: SOURCE_PLUGINS });
}

/** The whole pipeline on text already read. */
export function loadConfigFromString(
  text: string,
  options: WithoutPlugins<LoadConfigFromStringOptions> = {},
): SluiceConfig {
  return loadStringWith(text, { ...options, plugins: SOURCE_PLUGINS });
}

/** The JSON Schema of this build's `sluice.yaml` (`config/sluice.schema.json`). */
export const sluiceSchema = buildSluiceSchema(SOURCE_PLUGINS);
