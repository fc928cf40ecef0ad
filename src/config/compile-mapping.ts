/**
 * One mapping's options (YAML shape) compiled against a running config — for mappings created or
 * updated through the API and for those restored from the store. The same pipeline as the file,
 * so a mapping is valid through the API exactly when it would be valid in YAML.
 */
import { loadConfigFromString } from './load-config.ts';
import type { SourcePlugins } from '../connectors/plugin.ts';
import type { MappingConfig, SluiceConfig } from './types.ts';

/** Throws the pipeline's `CONFIG_INVALID` (paths `mappings[0]…`) when the options are invalid. */
export function compileMapping(
  config: SluiceConfig,
  options: Record<string, unknown>,
  what: string,
  plugins: SourcePlugins,
): MappingConfig {
  const doc = {
    region: config.region,
    accountId: config.accountId,
    functions: Object.fromEntries(
      Object.values(config.functions).map((f) => [
        f.name,
        { runtime: f.runtime, handler: f.handler, code: f.codeDir },
      ]),
    ),
    connections: Object.fromEntries(
      Object.values(config.connections).map((c) => [
        c.name,
        plugins.get(c.type).connectionOptions(c),
      ]),
    ),
    mappings: [options],
  };
  const compiled = loadConfigFromString(JSON.stringify(doc), {
    file: what,
    baseDir: '/',
    env: {},
    plugins,
  });
  return compiled.mappings[0] as MappingConfig;
}
