import { describe, expect, it } from 'vitest';
import { describeExit, describeSpawnError } from '../../src/invoker/environment-process.ts';
import { buildLambdaEnv, logStreamName } from '../../src/invoker/lambda-env-vars.ts';
import { LineSplitter, logTail, reportLine } from '../../src/invoker/log-lines.ts';
import { fromPostedError, runtimeExited, timedOut } from '../../src/invoker/platform-errors.ts';
import {
  nodeMemoryFlags,
  resolveRuntime,
  runtimeFamily,
} from '../../src/invoker/runtimes/runtimes.ts';
import type { FunctionSpec } from '../../src/invoker/types.ts';

const spec: FunctionSpec = {
  name: 'orders',
  runtime: 'nodejs22.x',
  handler: 'index.handler',
  codeDir: '/srv/orders',
  memorySizeMb: 512,
  timeoutMs: 3000,
  environment: { TABLE: 'orders', AWS_REGION: 'spoofed', TZ: 'Asia/Tokyo' },
  region: 'eu-central-1',
  accountId: '111122223333',
  idleTimeoutMs: 1000,
};

describe('buildLambdaEnv', () => {
  it('builds the environment from nothing: Lambda variables plus the declared ones', () => {
    process.env.SLUICE_ENGINE_TOKEN = 'secret';
    try {
      const env = buildLambdaEnv({
        spec,
        initializationType: 'provisioned-concurrency',
        runtimeApiAddress: '127.0.0.1:41234',
        tmpDir: '/tmp/sluice-x',
        executionEnv: 'AWS_Lambda_nodejs22.x',
        runtimeDir: '/opt/runtime',
        logStreamName: '2024/01/02/[$LATEST]abc',
        pathDirs: ['/node/bin'],
      });
      expect(env).toEqual({
        _HANDLER: 'index.handler',
        AWS_REGION: 'eu-central-1',
        AWS_DEFAULT_REGION: 'eu-central-1',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
        AWS_LAMBDA_FUNCTION_NAME: 'orders',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency',
        AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/orders',
        AWS_LAMBDA_LOG_STREAM_NAME: '2024/01/02/[$LATEST]abc',
        AWS_LAMBDA_RUNTIME_API: '127.0.0.1:41234',
        LAMBDA_TASK_ROOT: '/srv/orders',
        LAMBDA_RUNTIME_DIR: '/opt/runtime',
        TZ: 'Asia/Tokyo',
        LANG: 'en_US.UTF-8',
        PATH: '/node/bin:/usr/local/bin:/usr/bin:/bin',
        TMPDIR: '/tmp/sluice-x',
        TABLE: 'orders',
      });
    } finally {
      delete process.env.SLUICE_ENGINE_TOKEN;
    }
  });

  it('leaves AWS_EXECUTION_ENV unset for provided runtimes', () => {
    const env = buildLambdaEnv({
      spec: { ...spec, runtime: 'provided.al2023' },
      initializationType: 'on-demand',
      runtimeApiAddress: '127.0.0.1:1',
      tmpDir: '/t',
      runtimeDir: '/srv/orders',
      logStreamName: 's',
      pathDirs: [],
    });
    expect(env.AWS_EXECUTION_ENV).toBeUndefined();
  });

  it('names log streams like Lambda', () => {
    expect(logStreamName(new Date('2024-03-05T10:00:00Z'))).toMatch(
      /^2024\/03\/05\/\[\$LATEST\][0-9a-f]{32}$/,
    );
  });
});

describe('platform log lines', () => {
  it('formats REPORT with Init Duration last, only on cold starts', () => {
    const base = {
      durationMs: 26.734,
      billedDurationMs: 27,
      memorySizeMb: 128,
      maxMemoryUsedMb: 75,
    };
    expect(reportLine('r1', { ...base, initDurationMs: 166.619 })).toBe(
      'REPORT RequestId: r1\tDuration: 26.73 ms\tBilled Duration: 27 ms\tMemory Size: 128 MB\tMax Memory Used: 75 MB\tInit Duration: 166.62 ms',
    );
    expect(reportLine('r2', base)).toBe(
      'REPORT RequestId: r2\tDuration: 26.73 ms\tBilled Duration: 27 ms\tMemory Size: 128 MB\tMax Memory Used: 75 MB',
    );
  });

  it('keeps the last 4 KB of a log on a character boundary', () => {
    const text = 'é'.repeat(3000);
    const tail = logTail(text);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(4096);
    expect(tail).toBe('é'.repeat(2048));
    expect(logTail('short')).toBe('short');
  });

  it('splits output into lines and restores \\r-encoded newlines', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((l) => lines.push(l));
    splitter.push('a\rb\nc');
    splitter.push('d\n');
    splitter.push('tail');
    splitter.flush();
    expect(lines).toEqual(['a\nb', 'cd', 'tail']);
  });
});

describe('platform errors', () => {
  it('words exits like Go (as Lambda does)', () => {
    expect(describeExit({ kind: 'exit', code: 1, signal: null })).toBe('exit status 1');
    expect(describeExit({ kind: 'exit', code: null, signal: 'SIGKILL' })).toBe('signal: killed');
    expect(describeSpawnError('/srv/bootstrap', 'ENOENT')).toBe(
      'fork/exec /srv/bootstrap: no such file or directory',
    );
    expect(runtimeExited('id', 'signal: killed').errorMessage).toBe(
      'RequestId: id Error: Runtime exited with error: signal: killed',
    );
    expect(timedOut('id', 3000).errorMessage).toBe(
      'RequestId: id Error: Task timed out after 3.00 seconds',
    );
  });

  it('keeps a posted error body as is and wraps anything else', () => {
    const body = Buffer.from('{"errorType":"E","errorMessage":"m","trace":["x"]}');
    expect(fromPostedError(body, undefined)).toEqual({
      error: { errorType: 'E', errorMessage: 'm', trace: ['x'] },
      payload: body,
    });
    expect(fromPostedError(Buffer.from('oops'), 'Custom').error).toEqual({
      errorType: 'Custom',
      errorMessage: 'oops',
    });
  });
});

describe('runtime selection', () => {
  it('maps runtime ids to families and rejects unknown ones', () => {
    expect(runtimeFamily('nodejs20.x')).toBe('nodejs');
    expect(runtimeFamily('python3.12')).toBe('python');
    expect(runtimeFamily('provided.al2023')).toBe('provided');
    expect(() => runtimeFamily('java21')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });

  it('gives Node heap limits derived from memory and runs our bootstrap', () => {
    expect(nodeMemoryFlags(128)).toEqual(['--max-old-space-size=115', '--max-semi-space-size=1']);
    const launch = resolveRuntime(spec);
    expect(launch.command).toBe(process.execPath);
    expect(launch.args.at(-1)).toMatch(/nodejs\/bootstrap\.mjs$/);
  });

  it('runs python3 -m awslambdaric with SLUICE_PYTHON and a provided bootstrap from the code folder', () => {
    const py = resolveRuntime(
      { ...spec, runtime: 'python3.11', handler: 'app.handler' },
      { SLUICE_PYTHON: '/opt/py/bin/python3' },
    );
    expect([py.command, ...py.args]).toEqual([
      '/opt/py/bin/python3',
      '-m',
      'awslambdaric',
      'app.handler',
    ]);
    const provided = resolveRuntime({ ...spec, runtime: 'provided.al2023' });
    expect(provided.command).toBe('/srv/orders/bootstrap');
  });
});
