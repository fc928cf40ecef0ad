/**
 * The contract every destination keeps (where async results and failed records go), as vitest
 * tests. A destination's test file calls `describeDestinationConformance(name, factory)`; the
 * factory makes a fresh target (queue, topic, exchange + queue, function queue) and destinations
 * to it. The same cases run for SQS, Kafka, RabbitMQ and function destinations, so the async
 * worker and the failure paths can rely on them:
 *
 * - `send` resolves once the target holds the message, and the body arrives byte for byte;
 * - several sends arrive each once;
 * - attributes arrive as the target's attributes/headers where it has them;
 * - a target that refuses or cannot be reached rejects with a retryable `SluiceError`;
 * - `stop` is idempotent and awaitable.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Destination } from '../../src/destinations/destination.ts';
import { SluiceError } from '../../src/errors.ts';

/** A message as the target holds it. */
export interface ReceivedMessage {
  body: Buffer;
  /** Attributes / headers as text; undefined where the target has none. */
  attributes?: Record<string, string>;
}

export interface DestinationHarness {
  /** A destination to the fresh target. */
  destination: Destination;
  /** Waits for `count` messages on the target (bounded), and returns them in arrival order. */
  received(count: number): Promise<ReceivedMessage[]>;
  /** A destination whose target refuses the message or cannot be reached. */
  refusing(): Promise<Destination>;
  /** True when the target keeps `DestinationMessage.attributes`. */
  attributes: boolean;
  /** Stops the destinations and removes the target. */
  cleanup(): Promise<void>;
}

export type DestinationFactory = () => Promise<DestinationHarness>;

// Text that survives every target: JSON, non-ASCII letters, an emoji (4-byte UTF-8), whitespace
// and quotes. SQS forbids some control characters, so none are used.
const BODY = JSON.stringify({
  text: 'héllo wörld — 日本語 😀',
  whitespace: 'tab\there\nnew line',
  quote: `"'\\`,
  n: 1.5,
});

export function describeDestinationConformance(name: string, factory: DestinationFactory): void {
  describe(`destination conformance: ${name}`, () => {
    let h: DestinationHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('delivers the body bytes as given once send resolves', async () => {
      await h.destination.send({ body: BODY, id: 'conf-1' });
      const [got] = await h.received(1);
      expect(got?.body.equals(Buffer.from(BODY, 'utf8'))).toBe(true);
      expect(got?.body.toString('utf8')).toBe(BODY);
    });

    it('delivers each of several messages once', async () => {
      const bodies = Array.from({ length: 5 }, (_, i) => JSON.stringify({ i }));
      for (const [i, body] of bodies.entries()) await h.destination.send({ body, id: `m-${i}` });
      const got = await h.received(bodies.length);
      expect(got.map((m) => m.body.toString('utf8')).sort()).toEqual([...bodies].sort());
    });

    it('keeps attributes as the target’s attributes or headers where it has them', async (ctx) => {
      if (!h.attributes) ctx.skip('this target has no message attributes');
      const attributes = { RequestID: 'req-1', ErrorMessage: 'Error: ünïcode' };
      await h.destination.send({ body: '{}', attributes, id: 'attr-1' });
      const [got] = await h.received(1);
      expect(got?.attributes).toMatchObject(attributes);
    });

    it('rejects with a retryable SluiceError when the target refuses or cannot be reached', async () => {
      const refusing = await h.refusing();
      try {
        const sent = refusing.send({ body: BODY, id: 'refused-1' });
        await expect(sent).rejects.toBeInstanceOf(SluiceError);
        await expect(sent).rejects.toMatchObject({ canRetry: true });
      } finally {
        await refusing.stop();
      }
    });

    it('stop is idempotent and awaitable', async () => {
      await h.destination.send({ body: '{}', id: 'before-stop' });
      await Promise.all([h.destination.stop(), h.destination.stop()]);
      await h.destination.stop();
    });
  });
}
