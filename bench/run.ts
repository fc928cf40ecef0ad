/**
 * The benchmark harness: `npm run bench -- <name>`; names: invoke, api, async, sqs, kafka,
 * rabbitmq, s3. Each writes bench/results/<name>.json and .md. Benchmarks are never part of the
 * test suite.
 */
const BENCHES: Record<string, string> = {
  invoke: './invoke-bench.ts',
  kafka: './kafka-bench.ts',
  rabbitmq: './rabbitmq-bench.ts',
  s3: './s3-bench.ts',
  async: './async-bench.ts',
  api: './api-bench.ts',
  sqs: './sqs-bench.ts',
};

const names = process.argv.slice(2);
if (names.length === 0 || names.some((n) => !(n in BENCHES))) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> …\n`);
  process.exit(2);
}
for (const name of names) await import(BENCHES[name] as string);
