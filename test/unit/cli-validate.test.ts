/**
 * `sluice validate --config <file>`, run as users run it (a child process of the CLI entry):
 * a valid file answers OK with exit 0; a broken one names file, line and path, exits 78
 * (EX_CONFIG) and starts nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'src/cli/main.ts');

async function validate(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [CLI, 'validate', '--config', file],
      { cwd: ROOT },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('sluice validate --config', () => {
  it('answers OK with exit 0 for the example config', async () => {
    const r = await validate(join(ROOT, 'config/sluice.yaml'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sluice\.yaml: OK — 4 function\(s\), 3 mapping\(s\)/);
  });

  it('names file, line and path of each problem and exits 78', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-validate-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(
      file,
      [
        'functions:',
        '  f: { runtime: nodejs22.x, handler: index.handler, code: . }',
        'connections:',
        '  q: { type: sqs, endpoint: http://127.0.0.1:9324 }',
        'mappings:',
        '  - name: m',
        '    function: f',
        '    source: { connection: q, queueUrl: http://127.0.0.1:9324/000000000000/q }',
        '    batchSize: 20000',
        '',
      ].join('\n'),
    );
    const r = await validate(file);
    expect(r.code).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file}:9:16 mappings[0].batchSize must be an integer from 1 to`);
  });

  it('ends a YAML alias bomb in the config error (exit 78) naming the file, not a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-validate-'));
    const file = join(dir, 'bomb.yaml');
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    const lines = levels.map((name, i) => {
      const items = i === 0 ? Array(9).fill('"lol"') : Array(9).fill(`*${levels[i - 1]}`);
      return `${name}: &${name} [${items.join(', ')}]`;
    });
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await validate(file);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`Invalid config ${file}: 1 problem\n  ${file}:`);
    expect(r.stderr).toContain('alias');
    expect(r.stderr).not.toContain('    at ');
  });

  it('refuses an API open to the network without a token: exit 78 naming api.authToken', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-validate-'));
    const file = join(dir, 'open.yaml');
    writeFileSync(file, 'api:\n  host: 0.0.0.0\n');
    const r = await validate(file);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${file}:1:1 api.authToken is required: api.host 0.0.0.0`);
  });
});
