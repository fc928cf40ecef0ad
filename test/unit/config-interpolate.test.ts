import { describe, expect, it } from 'vitest';
import { coercePlain, maskExpressions } from '../../src/config/interpolate.ts';
import { load, problemAt, problemsOf, RESIZE, yaml } from '../fixtures/config/problems.ts';

describe('config: ${VAR} substitution', () => {
  it('replaces variables and defaults, keeping YAML types for plain scalars', () => {
    const text = yaml(
      'api: { host: ${HOST}, port: ${PORT:-3001}, authToken: ${TOKEN:-} }',
      ...RESIZE,
      '    environment: { PORT: "${PORT:-80}", MIXED: a-${HOST}-b, LIT: $${HOST}, EMPTY: ${EMPTY:-} }',
      '    memorySize: ${MEMORY:-512}',
    );
    const config = load(text, { env: { HOST: '0.0.0.0', PORT: '8080', TOKEN: 'tok' } });
    expect(config.api).toMatchObject({ host: '0.0.0.0', port: 8080, authToken: 'tok' });
    expect(config.functions.resize!.environment).toEqual({
      PORT: '8080',
      MIXED: 'a-0.0.0.0-b',
      LIT: '${HOST}',
      EMPTY: '',
    });
    expect(config.functions.resize!.memorySizeMb).toBe(512);
  });

  it('a default applies when the variable is empty too', () => {
    const config = load(yaml('api: { port: ${PORT:-3001} }'), { env: { PORT: '' } });
    expect(config.api.port).toBe(3001);
  });

  it('an unset variable without default names the variable and where it is used', () => {
    const text = yaml(...RESIZE, '    environment:', '      BUCKET: images-${STAGE}');
    const p = problemAt(problemsOf(text), 'functions.resize.environment.BUCKET');
    expect(p).toMatchObject({ line: 7, column: 22 });
    expect(p.message).toBe(
      'uses ${STAGE} but environment variable STAGE is not set (set it, or give a default: ${STAGE:-value})',
    );
  });

  it('expressions in comments are ignored; malformed ones in values are problems', () => {
    const text = yaml('# token: ${NOT_SET}', 'api: { host: "${not valid}" }');
    const p = problemAt(problemsOf(text), 'api.host');
    expect(p).toMatchObject({ line: 2, column: 15 });
    expect(p.message).toContain('is not a variable reference');
  });

  it('a substituted value can never inject YAML', () => {
    const config = load(yaml('api: { host: ${HOST}, authToken: t }'), {
      env: { HOST: 'a\nport: 1' },
    });
    expect(config.api).toMatchObject({ host: 'a\nport: 1', port: 3001 });
  });

  it("a substituted value is still validated, with the variable's value in the message", () => {
    const p = problemAt(
      problemsOf(yaml('api: { port: ${PORT} }'), { env: { PORT: 'http' } }),
      'api.port',
    );
    expect(p.message).toBe('must be an integer from 0 to 65535, got "http"');
  });

  it('placeholders keep every offset of the file', () => {
    const text = 'a: ${X}\nb: $${Y} ${Z:-1}\n';
    const { masked, expressions } = maskExpressions(text);
    expect(masked).toHaveLength(text.length);
    expect(masked.split('\n').map((l) => l.length)).toEqual(text.split('\n').map((l) => l.length));
    expect(expressions.map((e) => [e.kind, e.offset])).toEqual([
      ['variable', 3],
      ['literal', 11],
      ['variable', 17],
    ]);
  });

  it('coerces whole plain scalars like YAML would', () => {
    expect(coercePlain('42')).toBe(42);
    expect(coercePlain('0.5')).toBe(0.5);
    expect(coercePlain('true')).toBe(true);
    expect(coercePlain('~')).toBeNull();
    expect(coercePlain('')).toBe('');
    expect(coercePlain('1.2.3')).toBe('1.2.3');
  });
});
