/**
 * #17 item 9: logs as Lambda writes them. A failed invoke of the Node runtime logs AWS's
 * `Invoke Error` line; a function's `loggingConfig` (Lambda's advanced logging controls) reaches
 * the runtimes as AWS_LAMBDA_LOG_FORMAT / AWS_LAMBDA_LOG_LEVEL — so Powertools Logger, sluice's
 * Node runtime and AWS's Python runtime client switch to JSON and filter by level — and turns
 * START/END/REPORT into JSON `platform.*` records. Read through `LogType: Tail` of the AWS SDK.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensurePythonWithRic } from '../fixtures/python.ts';
import { tempDir, type TempDir } from '../support/temp.ts';
import { lambdaClient, startEngine, type RunningEngine } from './api-harness.ts';

interface Tailed {
  functionError: string | undefined;
  payload: Record<string, unknown>;
  lines: string[];
}

async function invokeTail(client: LambdaClient, fn: string, event: unknown): Promise<Tailed> {
  const out = await client.send(
    new InvokeCommand({
      FunctionName: fn,
      LogType: 'Tail',
      Payload: Buffer.from(JSON.stringify(event)),
    }),
  );
  const log = Buffer.from(out.LogResult ?? '', 'base64').toString('utf8');
  return {
    functionError: out.FunctionError,
    payload: JSON.parse(Buffer.from(out.Payload ?? []).toString('utf8')) as Record<string, unknown>,
    lines: log.split('\n').filter((l) => l !== ''),
  };
}

/** The Tail lines that are JSON objects, parsed. */
function records(lines: string[]): Record<string, unknown>[] {
  return lines.flatMap((line) => {
    try {
      const value: unknown = JSON.parse(line);
      return value !== null && typeof value === 'object' ? [value as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

const FUNCTION = (name: string, handler: string, extra: string[] = []): string[] => [
  `  ${name}:`,
  '    runtime: nodejs22.x',
  `    handler: ${handler}`,
  '    code: fidelity-node',
  ...extra,
];

describe('function logs as Lambda writes them', () => {
  let dir: TempDir;
  let running: RunningEngine;
  let client: LambdaClient;

  beforeAll(async () => {
    dir = tempDir('sluice-logging-');
    const python = await ensurePythonWithRic();
    if (!python) throw new Error('python3 with awslambdaric is needed (test/fixtures/python.ts)');
    process.env.SLUICE_PYTHON = python;
    const json = (level: string) => [
      '    loggingConfig:',
      '      logFormat: JSON',
      `      applicationLogLevel: ${level}`,
    ];
    running = await startEngine(
      [
        'functions:',
        ...FUNCTION('text-fail', 'index.fail'),
        ...FUNCTION('json-fail', 'index.fail', json('INFO')),
        ...FUNCTION('json-console', 'index.consoleLevels', json('WARN')),
        ...FUNCTION('json-powertools', 'index.powertools', json('DEBUG')),
        '  json-python:',
        '    runtime: python3.11',
        '    handler: app.handler',
        '    code: conformance-python',
        ...json('INFO'),
      ].join('\n'),
      dir.path,
    );
    client = lambdaClient(running.endpoint);
  }, 600_000);

  afterAll(async () => {
    await running?.stop();
    dir?.cleanup();
  });

  it('logs the Node runtime\'s "Invoke Error" line for a failed invoke, in Tail logs too', async () => {
    const out = await invokeTail(client, 'text-fail', { marker: 'm1' });
    expect(out.functionError).toBe('Unhandled');
    const line = out.lines.find((l) => l.includes('\tERROR\tInvoke Error \t'));
    expect(line, out.lines.join('\n')).toBeDefined();
    const [, requestId, level, message] = line!.split('\t');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(level).toBe('ERROR');
    expect(message).toBe('Invoke Error ');
    const body = JSON.parse(line!.split('\t').slice(4).join('\t')) as Record<string, unknown>;
    expect(body).toMatchObject({ errorType: 'FidelityError', errorMessage: 'fidelity failure m1' });
    expect(Array.isArray(body.stack)).toBe(true);
  });

  it('writes START, END and REPORT as JSON platform records when logFormat is JSON', async () => {
    const out = await invokeTail(client, 'json-fail', { marker: 'm2' });
    const byType = new Map(records(out.lines).map((r) => [r.type, r]));
    expect(out.lines.some((l) => l.startsWith('START RequestId'))).toBe(false);
    expect(out.lines.some((l) => l.startsWith('REPORT RequestId'))).toBe(false);
    const start = byType.get('platform.start');
    expect(start).toMatchObject({ record: { version: '$LATEST' } });
    expect(Date.parse(String(start?.time))).not.toBeNaN();
    const requestId = (start?.record as { requestId: string }).requestId;
    expect(byType.get('platform.runtimeDone')).toMatchObject({
      record: { requestId, status: 'error' },
    });
    const report = byType.get('platform.report') as {
      record: { requestId: string; status: string; metrics: Record<string, number> };
    };
    expect(report.record).toMatchObject({ requestId, status: 'error' });
    expect(report.record.metrics).toMatchObject({ memorySizeMB: 128 });
    for (const key of ['durationMs', 'billedDurationMs', 'maxMemoryUsedMB']) {
      expect(report.record.metrics[key]).toBeTypeOf('number');
    }
    // The Invoke Error line is a JSON record too.
    expect(records(out.lines)).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        requestId,
        message: expect.objectContaining({
          errorType: 'FidelityError',
          errorMessage: 'fidelity failure m2',
        }),
      }),
    );
  });

  it('makes console.* JSON records filtered by applicationLogLevel', async () => {
    const out = await invokeTail(client, 'json-console', { marker: 'm3' });
    const app = records(out.lines).filter((r) => 'level' in r);
    expect(app.map((r) => [r.level, r.message])).toEqual([
      ['WARN', 'console warn line m3'],
      ['ERROR', 'console error line m3'],
    ]);
    for (const r of app) {
      expect(r.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.parse(String(r.timestamp))).not.toBeNaN();
    }
  });

  it('switches Powertools Logger to the configured level (AWS_LAMBDA_LOG_LEVEL)', async () => {
    const out = await invokeTail(client, 'json-powertools', { marker: 'm4' });
    expect(out.payload).toEqual({ level: 'DEBUG' });
    expect(records(out.lines)).toContainEqual(
      expect.objectContaining({ level: 'DEBUG', message: 'powertools debug line' }),
    );
  });

  it("switches awslambdaric's logging to JSON at the configured level", async () => {
    const out = await invokeTail(client, 'json-python', { action: 'pylog', line: 'm5' });
    expect(out.functionError).toBeUndefined();
    const app = records(out.lines).filter((r) => 'level' in r);
    expect(app).toContainEqual(
      expect.objectContaining({ level: 'INFO', message: 'pylog info m5' }),
    );
    expect(app.some((r) => String(r.message).includes('pylog debug'))).toBe(false);
  });
});
