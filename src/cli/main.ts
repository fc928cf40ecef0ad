#!/usr/bin/env node
import { VERSION } from '../version.ts';

const HELP = `sluice ${VERSION} — event source mappings and execution environments on your own machines

Usage: sluice <command> [options]

Commands:
  start --config <file>      run the worker service until SIGTERM/SIGINT
  validate --config <file>   check a config file without starting anything
  invoke <function> --payload '<json>' --config <file>
                             invoke a function once and print the result
  --version                  print the version
  --help                     print this help
`;

export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  process.stderr.write(`sluice: unknown command '${command}'\n\n${HELP}`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
