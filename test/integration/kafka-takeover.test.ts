/**
 * Two `sluice start` processes share one Kafka mapping (one consumer group): Kafka's group spreads
 * the partitions over both. One is killed with SIGKILL mid-stream (its whole process group, function
 * environments included, as when a machine dies); the other takes its partitions over once the
 * group session of the dead one expires. Nothing is lost; duplicates come only from batches that
 * were in flight (uncommitted) when partitions moved, and the test reports how many.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { broker } from '../brokers/endpoints.ts';
import { kafkaFixture } from './kafka-harness.ts';
import { eventually } from '../support/eventually.ts';
import { tempDir, writeNodeFunction } from '../support/temp.ts';

const PARTITIONS = 4;
const PER_PARTITION = 1500;
const BATCH = 20;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Slow on purpose (100 ms a batch) so the kill lands mid-stream.
const FUNCTION_SOURCE = `
import { appendFileSync } from 'node:fs';
export const handler = async (event) => {
  const lines = [];
  for (const [lane, records] of Object.entries(event.records))
    for (const r of records) lines.push(lane + ':' + r.offset + ':' + process.env.INSTANCE);
  await new Promise((resolve) => setTimeout(resolve, 100));
  appendFileSync(process.env.OUT_FILE, lines.join('\\n') + '\\n');
  return null;
};
`;

function config(dir: string, topic: string, groupId: string): string {
  const servers = JSON.stringify(broker('kafka').kafkaBrokers ?? []);
  return `
api: { port: 0 }
storage: { path: ${JSON.stringify(join(dir, 'state-${SLUICE_INSTANCE}.db'))} }
logging: { level: warn }
functions:
  recorder:
    runtime: nodejs22.x
    handler: index.handler
    code: ${JSON.stringify(dir)}
    timeout: 30
    environment: { OUT_FILE: ${JSON.stringify(join(dir, 'handled.txt'))}, INSTANCE: '\${SLUICE_INSTANCE}' }
connections:
  k: { type: kafka, bootstrapServers: ${servers} }
mappings:
  - name: takeover
    function: recorder
    source: { connection: k, topic: ${topic}, consumerGroupId: ${groupId}, startingPosition: TRIM_HORIZON }
    batchSize: ${BATCH}
    maximumBatchingWindowInSeconds: 0.1
`;
}

const stderrTail: string[] = [];

function startSluice(configFile: string, instance: string): ChildProcess {
  const child = spawn(process.execPath, ['src/cli/main.ts', 'start', '--config', configFile], {
    cwd: ROOT,
    // Its own process group: SIGKILL to the group takes its function environments down too.
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      SLUICE_INSTANCE: instance,
      SLUICE_KAFKA_SESSION_TIMEOUT_MS: '6000',
      SLUICE_KAFKA_HEARTBEAT_INTERVAL_MS: '500',
    },
  });
  // Kept for the failure message: a child that cannot start says why on stderr.
  child.stderr?.on('data', (chunk: Buffer) => stderrTail.push(`${instance}: ${chunk.toString()}`));
  return child;
}

async function stopGroup(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid, signal);
  } catch {
    return;
  }
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
}

describe('two sluice processes on one Kafka mapping', () => {
  it('share the partitions; after a SIGKILL the survivor takes over and nothing is lost', async () => {
    const f = await kafkaFixture(PARTITIONS);
    onTestFinished(() => f.cleanup());
    for (let p = 0; p < PARTITIONS; p++) {
      await f.send(
        p,
        Array.from({ length: PER_PARTITION }, (_, i) => `t-${p}-${i}`),
      );
    }
    const dir = writeNodeFunction(tempDir('sluice-takeover-').path, FUNCTION_SOURCE);
    const configFile = join(dir, 'sluice.yaml');
    writeFileSync(configFile, config(dir, f.topic, f.groupId));
    const out = join(dir, 'handled.txt');
    const handled = () =>
      existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : [];
    // eventually() on the function's output; a failure carries the sluice processes' stderr tail.
    const handledHolds = (what: string, check: (lines: string[]) => boolean, limitMs = 60_000) =>
      eventually(() => check(handled()), what, { limitMs, intervalMs: 200 }).catch((err: Error) => {
        throw new Error(`${err.message}\n${stderrTail.slice(-20).join('')}`);
      });

    const a = startSluice(configFile, 'A');
    onTestFinished(() => stopGroup(a, 'SIGKILL'));
    await handledHolds('A handled a batch', (lines) => lines.some((l) => l.endsWith(':A')));
    const b = startSluice(configFile, 'B');
    onTestFinished(() => stopGroup(b, 'SIGTERM'));
    // Both work the topic before the kill: the group split the partitions between them.
    await handledHolds('B handled a batch', (lines) => lines.some((l) => l.endsWith(':B')));
    const beforeKill = handled().length;
    expect(beforeKill).toBeLessThan(PARTITIONS * PER_PARTITION);
    await stopGroup(a, 'SIGKILL');

    const total = PARTITIONS * PER_PARTITION;
    await handledHolds(
      'every record handled',
      (lines) => new Set(lines.map((l) => l.split(':').slice(0, 2).join(':'))).size >= total,
      90_000,
    );
    const lines = handled();
    const keys = lines.map((l) => l.split(':').slice(0, 2).join(':'));
    const unique = new Set(keys);
    for (let p = 0; p < PARTITIONS; p++) {
      for (let o = 0; o < PER_PARTITION; o++) expect(unique.has(`${f.topic}-${p}:${o}`)).toBe(true);
    }
    const duplicates = keys.length - unique.size;
    console.info(
      `kafka takeover: ${total} records, ${beforeKill} handled before the SIGKILL, ` +
        `${duplicates} duplicates (batches in flight when partitions moved)`,
    );
    // At most the batches in flight when partitions moved: B joining (A's in-flight batches of the
    // partitions it gave up) and A dying (all of A's in-flight batches), one per partition each.
    expect(duplicates).toBeLessThanOrEqual(2 * PARTITIONS * BATCH);
  });
});
