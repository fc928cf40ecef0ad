/**
 * docs/lambda-coverage.md cannot drift: it must list exactly Lambda's operations (the table in
 * src/api/lambda-operations.ts, from the SDK's model), and mark as supported or partial exactly
 * those a running engine has a route for.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_OPERATIONS, samplePath } from '../../../src/api/lambda-operations.ts';
import { API_HANDLERS, startEngine, type RunningEngine } from '../../integration/api-harness.ts';
import { tempDir, type TempDir } from '../../support/temp.ts';

const DOC = join(dirname(fileURLToPath(import.meta.url)), '../../../docs/lambda-coverage.md');
const ROW = /^\|\s*`(\w+)`\s*\|\s*`(\w+) ([^`]+)`\s*\|\s*(supported|partial|not supported)\s*\|/;

function documentedRows(): Map<string, { method: string; path: string; status: string }> {
  const rows = new Map<string, { method: string; path: string; status: string }>();
  for (const line of readFileSync(DOC, 'utf8').split('\n')) {
    const m = ROW.exec(line);
    if (m)
      rows.set(m[1] as string, {
        method: m[2] as string,
        path: m[3] as string,
        status: m[4] as string,
      });
  }
  return rows;
}

describe('docs/lambda-coverage.md', () => {
  let dir: TempDir;
  let running: RunningEngine;

  beforeAll(async () => {
    dir = tempDir();
    const fn = `  echo:\n    runtime: nodejs22.x\n    handler: index.echo\n    code: ${JSON.stringify(API_HANDLERS)}`;
    running = await startEngine(`functions:\n${fn}`, dir.path);
  });

  afterAll(async () => {
    await running?.stop();
    dir?.cleanup();
  });

  it('lists every Lambda operation once, with its method and path', () => {
    const rows = documentedRows();
    expect([...rows.keys()].sort()).toEqual(LAMBDA_OPERATIONS.map((op) => op.name).sort());
    for (const op of LAMBDA_OPERATIONS) {
      expect(rows.get(op.name), op.name).toMatchObject({ method: op.method, path: op.path });
    }
  });

  it('marks as supported or partial exactly the operations the API has a route for', () => {
    const api = running.engine.api;
    if (!api) throw new Error('the engine has no API');
    const rows = documentedRows();
    const wrong: string[] = [];
    for (const op of LAMBDA_OPERATIONS) {
      const { path } = samplePath(op, (label) =>
        label === 'UUID' ? '00000000-0000-4000-8000-000000000000' : 'echo',
      );
      const routed = api.hasRoute(op.method, path);
      const status = rows.get(op.name)?.status;
      if (routed !== (status === 'supported' || status === 'partial')) {
        wrong.push(`${op.name}: documented ${status}, ${routed ? 'has' : 'has no'} route`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
