import { describe, expect, it } from 'vitest';
import { load, problemAt, problemsOf, RESIZE, yaml } from '../fixtures/config/problems.ts';

const TRIGGER = '  - { name: up, type: s3, function: resize }';

describe('config: the API on the network needs authentication', () => {
  it('refuses a non-loopback api.host without api.authToken, naming the key and its line', () => {
    const problems = problemsOf(yaml('api:', '  host: 0.0.0.0', '  port: 3001'));
    const p = problemAt(problems, 'api.authToken');
    expect(p).toMatchObject({ file: 'sluice.yaml', line: 1 });
    expect(p.message).toContain('api.host 0.0.0.0');
    expect(p.message).toContain('api.allowUnauthenticated: true');
  });

  it('counts an empty token (an unset ${VAR:-}) as no token', () => {
    const text = yaml('api:', '  host: ${HOST}', '  authToken: ${TOKEN:-}');
    const p = problemAt(problemsOf(text, { env: { HOST: '::' } }), 'api.authToken');
    expect(p.line).toBe(3);
  });

  it('starts on the network with a token, or with the explicit opt-in', () => {
    expect(load(yaml('api: { host: 0.0.0.0, authToken: s3cret }')).api).toMatchObject({
      host: '0.0.0.0',
      authToken: 's3cret',
      allowUnauthenticated: false,
    });
    const open = load(yaml('api: { host: 10.1.2.3, allowUnauthenticated: true }'));
    expect(open.api).toMatchObject({ authToken: undefined, allowUnauthenticated: true });
  });

  it('needs nothing on loopback: 127.0.0.0/8, ::1 and localhost', () => {
    for (const host of ['127.0.0.1', '127.3.4.5', '::1', 'localhost', 'LOCALHOST']) {
      expect(load(yaml(`api: { host: "${host}" }`)).api.host).toBe(host);
    }
  });

  it('refuses a push trigger without its own token on a non-loopback API', () => {
    const text = yaml(
      ...RESIZE,
      'api: { host: 0.0.0.0, authToken: api-token }',
      'triggers:',
      TRIGGER,
      '  - { name: b, type: s3, function: resize, authToken: t }',
    );
    const problems = problemsOf(text);
    expect(problems).toHaveLength(1);
    const p = problemAt(problems, 'triggers[0].authToken');
    expect(p.line).toBe(8);
    expect(p.message).toContain('api.allowUnauthenticated: true');
  });

  it('lets token-less triggers through on loopback or with the opt-in', () => {
    expect(load(yaml(...RESIZE, 'triggers:', TRIGGER)).triggers).toHaveLength(1);
    const optIn = yaml(
      ...RESIZE,
      'api: { host: 0.0.0.0, authToken: t, allowUnauthenticated: true }',
      'triggers:',
      TRIGGER,
    );
    expect(load(optIn).triggers[0]?.authToken).toBeUndefined();
  });
});
