import { loadConfig } from '../app/config.ts';

/** `sluice validate --config <file>`: load and check everything, start nothing. */
export async function runValidate(configPath: string): Promise<number> {
  const config = await loadConfig(configPath);
  process.stdout.write(
    `${config.file}: OK — ${Object.keys(config.functions).length} function(s), ${config.mappings.length} mapping(s), ${config.triggers.length} trigger(s), ${Object.keys(config.connections).length} connection(s)\n`,
  );
  return 0;
}
