import { describe, expect, it } from 'vitest';
import { resolveRuntime } from '../../src/invoker/runtimes/runtimes.ts';
import { canUseSpare } from '../../src/invoker/spare-processes.ts';
import { fakeSpec } from './fakes/fake-spec.ts';

const spec = (runtime: string) => fakeSpec('fn', { runtime });
const node = resolveRuntime(spec('nodejs22.x'), {});

describe('canUseSpare', () => {
  it('lets a Node function with ordinary variables (TZ included) run in a spare', () => {
    expect(canUseSpare(node, {}, {})).toBe(true);
    expect(canUseSpare(node, { TABLE: 't', TZ: 'Europe/Paris', LANG: 'en_US.UTF-8' }, {})).toBe(
      true,
    );
  });

  it.each([
    ['NODE_OPTIONS', '--enable-source-maps'],
    ['NODE_EXTRA_CA_CERTS', '/etc/ca.pem'],
    ['NODE_PATH', '/opt/nodejs'],
    ['UV_THREADPOOL_SIZE', '16'],
    ['LANG', 'de_DE.UTF-8'],
    ['LC_ALL', 'C'],
    ['SSL_CERT_FILE', '/etc/ssl/cert.pem'],
  ])('spawns a function declaring %s (read only at start-up)', (name, value) => {
    expect(canUseSpare(node, { [name]: value }, {})).toBe(false);
  });

  it('is off with SLUICE_WARM_SPARES=0 in the engine environment, on otherwise', () => {
    expect(canUseSpare(node, {}, { SLUICE_WARM_SPARES: '0' })).toBe(false);
    expect(canUseSpare(node, {}, { SLUICE_WARM_SPARES: '1' })).toBe(true);
  });

  it('is for Node only', () => {
    expect(canUseSpare(resolveRuntime(spec('provided.al2023'), {}), {}, {})).toBe(false);
  });
});
