import { describe, expect, it } from 'vitest';
import { load, problemAt, problemsOf, RESIZE, yaml } from '../fixtures/config/problems.ts';

describe('config: functions', () => {
  it('an unknown runtime names the line, path and value', () => {
    const text = yaml(
      'functions:',
      '  f:',
      '    runtime: java21',
      '    handler: a.b',
      '    code: ./functions/resize',
    );
    const p = problemAt(problemsOf(text), 'functions.f.runtime');
    expect(p).toMatchObject({ file: 'sluice.yaml', line: 3, column: 14 });
    expect(p.message).toContain('got "java21"');
    expect(p.message).toContain('python3.N');
  });

  it('accepts every python3.N and provided runtime without a handler', () => {
    const text = yaml(
      'functions:',
      '  py: { runtime: python3.13, handler: app.main, code: ./functions/orders }',
      '  go: { runtime: provided, code: ./functions/go }',
      '  go2: { runtime: provided.al2, code: ./functions/go }',
    );
    const config = load(text);
    expect(config.functions.py!.runtime).toBe('python3.13');
    expect(config.functions.go!.handler).toBe('bootstrap');
  });

  it('a handler with ".." is refused', () => {
    const text = yaml(...RESIZE.slice(0, 3), '    handler: ../secret.handler', RESIZE[4]!);
    const p = problemAt(problemsOf(text), 'functions.resize.handler');
    expect(p).toMatchObject({ line: 4, column: 14 });
    expect(p.message).toContain('must not contain ".."');
    expect(p.message).toContain('got "../secret.handler"');
  });

  it('a handler without an export, or missing for a node runtime, is refused', () => {
    const bad = problemAt(
      problemsOf(yaml(...RESIZE.slice(0, 3), '    handler: index', RESIZE[4]!)),
      'functions.resize.handler',
    );
    expect(bad.message).toMatch(/must be file\.export .*got "index"/);
    const missing = problemAt(
      problemsOf(yaml(...RESIZE.slice(0, 3), RESIZE[4]!)),
      'functions.resize.handler',
    );
    expect(missing).toMatchObject({ line: 2, column: 3 });
    expect(missing.message).toBe(
      'is required for runtime nodejs22.x: file.export, e.g. index.handler',
    );
  });

  it('a missing code folder names the resolved path', () => {
    const text = yaml(...RESIZE.slice(0, 4), '    code: ./functions/nope');
    const p = problemAt(problemsOf(text), 'functions.resize.code');
    expect(p).toMatchObject({ line: 5, column: 11 });
    expect(p.message).toContain('got "./functions/nope"');
    expect(p.message).toContain('functions/nope does not exist');
  });

  it('memory and timeout out of range', () => {
    const text = yaml(...RESIZE, '    memorySize: 64', '    timeout: 901');
    const problems = problemsOf(text);
    expect(problemAt(problems, 'functions.resize.memorySize')).toMatchObject({
      line: 6,
      column: 17,
      message: 'must be an integer from 128 to 10240 (MB), got 64',
    });
    expect(problemAt(problems, 'functions.resize.timeout').message).toBe(
      'must be an integer from 1 to 900 (seconds), got 901',
    );
  });

  it("function names follow Lambda's pattern", () => {
    const text = yaml(
      'functions:',
      '  "bad name":',
      '    runtime: provided',
      '    code: ./functions/go',
    );
    const p = problemAt(problemsOf(text), 'functions["bad name"]');
    expect(p).toMatchObject({ line: 2, column: 3 });
    expect(p.message).toContain('1–64 letters, digits, "-" or "_"');
  });

  it('environment: numbers and booleans become strings; objects, null, reserved keys and > 4 KB do not', () => {
    const problems = problemsOf(
      yaml(
        ...RESIZE,
        '    environment:',
        '      OK: 1',
        '      NESTED: { a: 1 }',
        '      EMPTY:',
        '      AWS_REGION: eu-west-1',
        `      BIG: ${'x'.repeat(4100)}`,
      ),
    );
    expect(problemAt(problems, 'functions.resize.environment.NESTED')).toMatchObject({ line: 8 });
    expect(problemAt(problems, 'functions.resize.environment.EMPTY').message).toContain('""');
    expect(problemAt(problems, 'functions.resize.environment.AWS_REGION').message).toContain(
      'set by the engine',
    );
    expect(problemAt(problems, 'functions.resize.environment').message).toMatch(
      /at most 4096 bytes .* got 41\d\d bytes/,
    );
  });

  it('reserved concurrency above the limit', () => {
    const text = yaml('concurrency: { limit: 50 }', ...RESIZE, '    reservedConcurrency: 60');
    const p = problemAt(problemsOf(text), 'functions.resize.reservedConcurrency');
    expect(p).toMatchObject({ line: 7, column: 26 });
    expect(p.message).toBe('must be at most concurrency.limit (50), got 60');
  });

  it('reservations must leave 100 of 1000 unreserved (as Lambda), reported where the sum crosses it', () => {
    const text = yaml(
      'functions:',
      '  a: { runtime: provided, code: ./functions/go, reservedConcurrency: 500 }',
      '  b: { runtime: provided, code: ./functions/go, reservedConcurrency: 401 }',
    );
    const p = problemAt(problemsOf(text), 'functions.b.reservedConcurrency');
    expect(p.line).toBe(3);
    expect(p.message).toContain('brings reserved concurrency to 901 (a 500, b 401)');
    expect(p.message).toContain('at most 900 of concurrency.limit 1000 may be reserved');
    expect(p.message).toContain('concurrency.minimumUnreserved');
  });

  it('small engines keep a tenth unreserved by default, and minimumUnreserved can change it', () => {
    const fn = '  a: { runtime: provided, code: ./functions/go, reservedConcurrency: 18 }';
    expect(load(yaml('concurrency: { limit: 20 }', 'functions:', fn)).concurrency).toEqual({
      limit: 20,
      minimumUnreserved: 2,
    });
    const tooMuch = yaml('concurrency: { limit: 20 }', 'functions:', fn.replace('18', '19'));
    expect(problemAt(problemsOf(tooMuch), 'functions.a.reservedConcurrency').message).toContain(
      'the default min(100, ceil(limit / 10)) = 2 must stay unreserved',
    );
    const all = yaml(
      'concurrency: { limit: 20, minimumUnreserved: 0 }',
      'functions:',
      fn.replace('18', '20'),
    );
    expect(load(all).functions.a!.reservedConcurrency).toBe(20);
  });

  it('provisioned concurrency must fit in the reservation', () => {
    const text = yaml(...RESIZE, '    reservedConcurrency: 2', '    provisionedConcurrency: 3');
    const p = problemAt(problemsOf(text), 'functions.resize.provisionedConcurrency');
    expect(p).toMatchObject({ line: 7, message: 'must be at most reservedConcurrency (2), got 3' });
  });

  it('async settings: ranges and destination references', () => {
    const text = yaml(
      ...RESIZE,
      '    async:',
      '      maximumRetryAttempts: 3',
      '      maximumEventAgeInSeconds: 30',
      '      onSuccess: { destination: function:resize }',
      '      onFailure: { destination: function:resise }',
      '      deadLetter: { destination: kafka://dead }',
    );
    const problems = problemsOf(text);
    expect(problemAt(problems, 'functions.resize.async.maximumRetryAttempts').message).toBe(
      'must be an integer from 0 to 2, got 3',
    );
    expect(problemAt(problems, 'functions.resize.async.maximumEventAgeInSeconds').message).toBe(
      'must be an integer from 60 to 21600 (seconds), got 30',
    );
    expect(problemAt(problems, 'functions.resize.async.onSuccess.destination').message).toContain(
      'loop',
    );
    expect(problemAt(problems, 'functions.resize.async.onFailure.destination')).toMatchObject({
      line: 10,
      message:
        'names function "resise", which is not declared under functions (did you mean resize?)',
    });
    expect(problemAt(problems, 'functions.resize.async.deadLetter').message).toContain(
      'needs a connection',
    );
  });

  it('destinations must name a connection of the right type, in a known form', () => {
    const text = yaml(
      'connections:',
      '  k: { type: kafka, bootstrapServers: [a:9092] }',
      ...RESIZE,
      '    async:',
      '      onFailure: { destination: http://q/000000000000/f, connection: k }',
      '      onSuccess: { destination: sns://topic }',
    );
    const problems = problemsOf(text);
    expect(problemAt(problems, 'functions.resize.async.onFailure.connection').message).toContain(
      'of type kafka, but "http://q/000000000000/f" needs a connection of type sqs',
    );
    expect(problemAt(problems, 'functions.resize.async.onSuccess.destination').message).toContain(
      'kafka://<topic>',
    );
  });
});
