/**
 * What AMQP cannot tell about a queue — its type and whether it has a dead-letter exchange — read
 * from the management API. Optional: when the API does not answer, the type is learnt from the
 * deliveries (`x-delivery-count`) and the DLX counts as absent (so a dropped message goes to the
 * onFailure destination or the parking queue, never to a nack that might discard it).
 */
import type { QueueType } from './redelivery-policy.ts';

export interface QueueInfo {
  type: QueueType;
  /** The queue's dead-letter exchange (argument or policy); undefined = none or unknown. */
  deadLetterExchange: string | undefined;
  /** Messages ready for delivery, when known. */
  messagesReady: number | undefined;
}

export const UNKNOWN_QUEUE_INFO: QueueInfo = {
  type: 'unknown',
  deadLetterExchange: undefined,
  messagesReady: undefined,
};

/**
 * The management API base URL for an AMQP URL: same host and credentials, port + 10 000 (5672 →
 * 15672, 5671 → 15671 — RabbitMQ's defaults), `https` for `amqps`.
 */
export function defaultManagementUrl(amqpUrl: string): string {
  const url = new URL(amqpUrl);
  const tls = url.protocol === 'amqps:';
  const port = Number(url.port || (tls ? 5671 : 5672)) + 10_000;
  const auth = url.username ? `${url.username}:${url.password}@` : 'guest:guest@';
  return `${tls ? 'https' : 'http'}://${auth}${url.hostname}:${port}/`;
}

/** Parses `GET /api/queues/{vhost}/{name}`. */
export function parseQueueInfo(body: unknown): QueueInfo {
  const q = (body ?? {}) as {
    type?: unknown;
    arguments?: Record<string, unknown>;
    effective_policy_definition?: Record<string, unknown> | unknown[];
    messages_ready?: unknown;
  };
  const type: QueueType =
    q.type === 'classic' || q.type === 'quorum' || q.type === 'stream' ? q.type : 'unknown';
  const policy = Array.isArray(q.effective_policy_definition)
    ? {}
    : (q.effective_policy_definition ?? {});
  const dlx = q.arguments?.['x-dead-letter-exchange'] ?? policy['dead-letter-exchange'];
  return {
    type,
    // '' is the default exchange: a valid DLX (with x-dead-letter-routing-key).
    deadLetterExchange: typeof dlx === 'string' ? dlx : undefined,
    messagesReady: typeof q.messages_ready === 'number' ? q.messages_ready : undefined,
  };
}

/** Reads the queue from the management API; undefined when it does not answer. */
export async function fetchQueueInfo(
  managementUrl: string,
  virtualHost: string,
  queue: string,
  timeoutMs = 3000,
): Promise<QueueInfo | undefined> {
  try {
    const base = new URL(managementUrl);
    // fetch() refuses credentials in the URL: send them as a header.
    const auth = Buffer.from(
      `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`,
    ).toString('base64');
    base.username = '';
    base.password = '';
    const path = `api/queues/${encodeURIComponent(virtualHost)}/${encodeURIComponent(queue)}`;
    const url = new URL(path, base.href.replace(/\/?$/, '/'));
    const res = await fetch(url, {
      headers: { authorization: `Basic ${auth}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) return undefined;
    return parseQueueInfo(await res.json());
  } catch {
    return undefined;
  }
}
