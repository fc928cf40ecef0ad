#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isSluiceError } from '../errors.ts';
import { VERSION } from '../version.ts';
import { runInvoke } from './invoke-command.ts';
import { runStart } from './start-command.ts';
import { runValidate } from './validate-command.ts';

const HELP = `sluice ${VERSION} — event source mappings and execution environments on your own machines

Usage: sluice <command> [options]

Commands:
  start --config <file> [--pretty] [--shutdown-timeout <ms>]
                             run the worker service until SIGTERM/SIGINT (graceful drain); after
                             SIGTERM it exits within --shutdown-timeout (default 30000) less
                             max(500 ms, 5 %)
  validate --config <file>   check a config file without starting anything
  invoke <function> [--payload '<json>'] [--config <file>] [--invocation-type RequestResponse|Event|DryRun]
                             invoke once: through the API of a running engine when one answers
                             at the config's api.host:api.port, else in-process; prints the
                             result and the REPORT line
  --version                  print the version
  --help                     print this help

Config: SLUICE_CONFIG may name the file instead of --config (default ./sluice.yaml).
`;

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  payload: { type: 'string', short: 'p' },
  'invocation-type': { type: 'string' },
  pretty: { type: 'boolean' },
  'shutdown-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`sluice: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.version || command === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const configPath = values.config ?? process.env.SLUICE_CONFIG ?? 'sluice.yaml';
  try {
    switch (command) {
      case 'start':
        return await runStart({
          configPath,
          pretty: values.pretty ?? false,
          shutdownTimeoutMs: values['shutdown-timeout']
            ? Number(values['shutdown-timeout'])
            : undefined,
        });
      case 'validate':
        return await runValidate(configPath);
      case 'invoke':
        if (!rest[0]) {
          process.stderr.write('sluice invoke: name the function: sluice invoke <function>\n');
          return 2;
        }
        return await runInvoke({
          configPath,
          functionName: rest[0],
          payload: values.payload ?? '{}',
          invocationType: values['invocation-type'] ?? 'RequestResponse',
        });
      default:
        process.stderr.write(`sluice: unknown command '${command}'\n\n${HELP}`);
        return 2;
    }
  } catch (err) {
    if (isSluiceError(err)) {
      process.stderr.write(`sluice: ${err.message}\n`);
      return err.code === 'CONFIG_INVALID' || err.code === 'CONFIG_NOT_FOUND' ? 78 : 1;
    }
    process.stderr.write(`sluice: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
