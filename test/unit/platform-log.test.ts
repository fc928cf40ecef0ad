import { describe, expect, it } from 'vitest';
import { lambdaLoggingConfig } from '../../src/api/logging-config.ts';
import { invokeStatus, platformLog } from '../../src/invoker/platform-log.ts';
import { loadConfigFromString } from '../../src/app/config.ts';

const NOW = () => new Date('2024-05-01T10:00:00.000Z');
const REPORT = {
  durationMs: 12.345,
  billedDurationMs: 13,
  memorySizeMb: 256,
  maxMemoryUsedMb: 70,
  initDurationMs: 150.5,
};

describe('platform log lines in the function log format', () => {
  it('writes the Text lines without a loggingConfig or with Text', () => {
    for (const config of [undefined, { logFormat: 'Text' as const }]) {
      const log = platformLog(config, NOW);
      expect(log.start('r1')).toBe('START RequestId: r1 Version: $LATEST');
      expect(log.end('r1', 'success', 1, 2)).toBe('END RequestId: r1');
      expect(log.report('r1', REPORT, 'success')).toMatch(
        /^REPORT RequestId: r1\tDuration: 12.35 ms/,
      );
    }
  });

  it('writes platform.start, platform.runtimeDone and platform.report records in JSON', () => {
    const log = platformLog({ logFormat: 'JSON', systemLogLevel: 'INFO' }, NOW);
    expect(JSON.parse(log.start('r1')!)).toEqual({
      time: '2024-05-01T10:00:00.000Z',
      type: 'platform.start',
      record: { requestId: 'r1', version: '$LATEST' },
    });
    expect(JSON.parse(log.end('r1', 'error', 12.345, 0)!)).toEqual({
      time: '2024-05-01T10:00:00.000Z',
      type: 'platform.runtimeDone',
      record: {
        requestId: 'r1',
        status: 'error',
        metrics: { durationMs: 12.35, producedBytes: 0 },
      },
    });
    expect(JSON.parse(log.report('r1', REPORT, 'success')!)).toEqual({
      time: '2024-05-01T10:00:00.000Z',
      type: 'platform.report',
      record: {
        requestId: 'r1',
        metrics: {
          durationMs: 12.35,
          billedDurationMs: 13,
          memorySizeMB: 256,
          maxMemoryUsedMB: 70,
          initDurationMs: 150.5,
        },
        status: 'success',
      },
    });
    expect(JSON.parse(log.initStart('nodejs:22.v1', 'eu-west-1', 'on-demand')!)).toMatchObject({
      type: 'platform.initStart',
      record: { initializationType: 'on-demand', phase: 'init', runtimeVersion: 'nodejs:22.v1' },
    });
  });

  it('drops the INFO platform records when systemLogLevel is WARN', () => {
    const log = platformLog({ logFormat: 'JSON', systemLogLevel: 'WARN' }, NOW);
    expect(log.start('r1')).toBeUndefined();
    expect(log.report('r1', REPORT, 'success')).toBeUndefined();
  });

  it('names how an invoke ended as the Telemetry API does', () => {
    expect(invokeStatus({ failed: false, payload: Buffer.from('1') })).toBe('success');
    expect(invokeStatus({ failed: false, error: { errorType: 'E', errorMessage: '' } })).toBe(
      'error',
    );
    expect(
      invokeStatus({ failed: true, error: { errorType: 'Sandbox.Timedout', errorMessage: '' } }),
    ).toBe('timeout');
    expect(
      invokeStatus({ failed: true, error: { errorType: 'Runtime.ExitError', errorMessage: '' } }),
    ).toBe('failure');
  });
});

describe('loggingConfig in the config file', () => {
  const load = (extra: string) =>
    loadConfigFromString(
      [
        'functions:',
        '  f:',
        '    runtime: nodejs22.x',
        '    handler: index.handler',
        '    code: .',
        extra,
      ].join('\n'),
      { env: {}, dirExists: () => true },
    );

  it('defaults both levels to INFO for JSON and shows LoggingConfig as Lambda does', () => {
    const spec = load('    loggingConfig: { logFormat: JSON }').functions.f!;
    expect(spec.loggingConfig).toEqual({
      logFormat: 'JSON',
      applicationLogLevel: 'INFO',
      systemLogLevel: 'INFO',
    });
    expect(lambdaLoggingConfig(spec)).toEqual({
      LogFormat: 'JSON',
      ApplicationLogLevel: 'INFO',
      SystemLogLevel: 'INFO',
      LogGroup: '/aws/lambda/f',
    });
    expect(lambdaLoggingConfig(load('').functions.f!)).toEqual({
      LogFormat: 'Text',
      LogGroup: '/aws/lambda/f',
    });
  });

  it('refuses a log level without logFormat JSON', () => {
    expect(() => load('    loggingConfig: { applicationLogLevel: DEBUG }')).toThrow(
      /applicationLogLevel.*needs logFormat: JSON/s,
    );
  });
});
