/**
 * The demo: starts local brokers (the test launcher: cached downloads, 127.0.0.1), runs sluice with
 * config/demo.yaml, sends sample traffic and shows records flowing into functions — a live progress
 * line, then a summary (records, batches, filtered, cold/warm starts, p50 latency).
 * Run through `bash scripts/demo.sh` (which sets up Node 22 and builds first).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startBrokers, stopBrokers } from '../test/brokers/launcher.ts';
import type { BrokerName } from '../test/brokers/types.ts';
import { kafkaSource } from './demo/kafka-source.ts';
import { rabbitmqSource } from './demo/rabbitmq-source.ts';
import { s3Source } from './demo/s3-source.ts';
import { sqsSource } from './demo/sqs-source.ts';
import { metric, type DemoSource } from './demo/types.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PORT = Number(process.env.SLUICE_DEMO_PORT ?? 3901);
const SOURCES: DemoSource[] = [sqsSource, kafkaSource, rabbitmqSource, s3Source];
const TIMEOUT_MS = Number(process.env.SLUICE_DEMO_TIMEOUT_MS ?? 120_000);

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function main(): Promise<number> {
  const names = [...new Set(SOURCES.flatMap((s) => s.brokers))] as BrokerName[];
  console.log(`demo: starting brokers (${names.join(', ')}) on 127.0.0.1 …`);
  const brokers = await startBrokers(names);
  for (const s of SOURCES) await s.prepare(brokers, PORT);

  const env = {
    ...process.env,
    SLUICE_DEMO_PORT: String(PORT),
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'demo',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'demo',
    ...Object.assign({}, ...SOURCES.map((s) => s.env(brokers))),
  };
  console.log(`demo: starting sluice with config/demo.yaml (API on 127.0.0.1:${PORT}) …`);
  const sluice = spawn(
    process.execPath,
    ['dist/src/cli/main.js', 'start', '--config', 'config/demo.yaml'],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const latencies: number[] = [];
  let lastLog = '';
  createInterface({ input: sluice.stdout }).on('line', (line) => {
    const m = /DEMO_BATCH .*latencies=([\d,]+)/.exec(line);
    if (m) for (const v of (m[1] as string).split(',')) latencies.push(Number(v));
    else if (line.includes('"level":50') || line.includes('"level":40'))
      lastLog = line.slice(0, 300);
  });
  const exited = new Promise<number>((resolve) =>
    sluice.once('exit', (code) => resolve(code ?? 1)),
  );

  const base = `http://127.0.0.1:${PORT}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${base}/readyz`)
      .then((r) => r.ok)
      .catch(() => false);
    if (ready) break;
    if (Date.now() > deadline || sluice.exitCode !== null) {
      console.error(
        `demo: sluice did not become ready${lastLog ? `; last warning: ${lastLog}` : ''}`,
      );
      sluice.kill('SIGTERM');
      return 1;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.log('demo: sluice is ready; sending sample traffic …');

  let sent = 0;
  const sending = Promise.all(SOURCES.map((s) => s.send(brokers, (n) => (sent += n))));
  let expected = Infinity;
  let perSource: number[] = [];
  void sending.then((r) => {
    perSource = r.map((x) => x.expected);
    expected = r.reduce((n, x) => n + x.expected, 0);
  });
  const started = Date.now();
  let text = '';
  let ticks = 0;
  for (;;) {
    // config/demo.yaml takes its token from SLUICE_API_TOKEN when one is set in the environment.
    const token = process.env.SLUICE_API_TOKEN;
    text = await fetch(
      `${base}/metrics`,
      token ? { headers: { authorization: `Bearer ${token}` } } : {},
    )
      .then((r) => r.text())
      .catch(() => text);
    const counts = SOURCES.map((s) => s.counts(text));
    const invoked = counts.reduce((n, c) => n + c.records, 0);
    const batches = counts.reduce((n, c) => n + c.batches, 0);
    const filtered = counts.reduce((n, c) => n + c.filtered, 0);
    const pollers = metric(text, 'sluice_mapping_pollers');
    const cold = metric(text, 'sluice_cold_starts_total');
    const bySource = SOURCES.map(
      (s, i) =>
        `${s.label} ${counts[i]?.records ?? 0}${perSource[i] === undefined ? '' : `/${perSource[i]}`}`,
    ).join(', ');
    const line = `  sent ${sent} | invoked ${bySource} | ${batches} invokes, ${filtered} filtered out, ${pollers} pollers, ${cold} environments started`;
    // A live line on a terminal; one line every few seconds in a log.
    if (process.stdout.isTTY) process.stdout.write(`\r${line}   `);
    else if (ticks++ % 6 === 0) console.log(line);
    if (invoked >= expected || Date.now() - started > TIMEOUT_MS) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (process.stdout.isTTY) process.stdout.write('\n');
  const invocations = metric(text, 'sluice_invocations_total');
  const cold = metric(text, 'sluice_cold_starts_total');
  const invoked = SOURCES.reduce((n, s) => n + s.counts(text).records, 0);
  console.log('\ndemo summary');
  for (const s of SOURCES) {
    const c = s.counts(text);
    console.log(
      `  ${s.label.padEnd(14)} records ${c.records}  invokes ${c.batches}  filtered out ${c.filtered}`,
    );
  }
  console.log(
    `  invokes ${invocations}: ${cold} cold starts, ${Math.max(0, invocations - cold)} warm`,
  );
  console.log(
    `  latency from send to invoke: p50 ${p50(latencies)} ms over ${latencies.length} records (batching window 1 s)`,
  );
  console.log(`  took ${((Date.now() - started) / 1000).toFixed(1)} s`);

  sluice.kill('SIGTERM');
  const code = await exited;
  if (process.env.SLUICE_KEEP_BROKERS !== '1') await stopBrokers(brokers);
  const complete = invoked >= expected;
  console.log(
    complete
      ? 'demo: every record reached its function.'
      : 'demo: timed out before every record arrived.',
  );
  return complete && code === 0 ? 0 : 1;
}

process.exitCode = await main();
