import { describe, expect, it } from 'vitest';
import { fixtureSpec, payloadJson, startEnvironment } from './environment-harness.ts';
import { eventually } from '../support/eventually.ts';

describe('external extensions', () => {
  it('starts extensions before the runtime and gives them INVOKE and SHUTDOWN events', async () => {
    const h = startEnvironment(fixtureSpec('node-extension'));
    await h.env.init();
    const texts = (): string[] => h.logs.map((l) => l.text);
    // INIT ended only after the extension registered (and polled for events).
    expect(texts()).toContain('[probe] registered 200 with id');

    const result = await h.invoke({ e: 1 }, 'req-ext-1');
    expect(payloadJson(result)).toEqual({ withExtension: true, echo: { e: 1 } });
    // The invoke completes only after the extension has called event/next again.
    expect(texts()).toContain('[probe] INVOKE req-ext-1');
    const second = await h.invoke({ e: 2 }, 'req-ext-2');
    expect(second.ok).toBe(true);
    expect(texts()).toContain('[probe] INVOKE req-ext-2');

    await h.env.shutdown('spindown');
    await eventually(
      () => texts().includes('[probe] SHUTDOWN spindown'),
      'the extension logged SHUTDOWN',
    );
    expect(h.env.state).toBe('dead');
  });
});
