/**
 * What a worker holds, read from its `/metrics`: records it received and has not settled, and
 * batches in flight × batch size. Pure parsing apart from `scrapeHeld`.
 */

export type SourceKind = 'sqs' | 'kafka' | 'rabbitmq' | 'async';

export interface Held {
  /** Records received from the source (or async events being invoked) and not settled. */
  unsettled: number;
  /** In-flight batches × batch size (async: invokes running). */
  inFlightRecords: number;
  /** False when the worker did not answer (e.g. still starting): both figures are then 0. */
  answered: boolean;
  /** When the scrape that answered was sent (what was received after it is not in the figures). */
  askedAtMs?: number;
}

/** Sum of the samples of `name` whose labels contain every `key="value"` in `match`. */
export function sumOf(text: string, name: string, match: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels = line.slice(name.length).split(' ')[0] ?? '';
    if (!Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/**
 * SQS and RabbitMQ: `sluice_mapping_held_records` (received — batched or not — and not settled).
 * Kafka: the larger of that and polled − committed (settled offsets wait for a commit; until it is
 * written a crash redelivers them). Async: invokes running now.
 */
export function heldFrom(text: string, kind: SourceKind, mapping: string, batchSize: number): Held {
  if (kind === 'async') {
    const running = sumOf(text, 'sluice_concurrent_executions', { function: mapping });
    return { unsettled: running, inFlightRecords: running, answered: true };
  }
  const m = { mapping };
  const held = sumOf(text, 'sluice_mapping_held_records', m);
  const uncommitted =
    kind === 'kafka'
      ? sumOf(text, 'sluice_mapping_polled_events_total', m) -
        sumOf(text, 'sluice_kafka_committed_events_total', m)
      : 0;
  const batches = sumOf(text, 'sluice_mapping_in_flight_batches', m);
  return {
    unsettled: Math.max(0, held, uncommitted),
    inFlightRecords: batches * batchSize,
    answered: true,
  };
}

/** The bound one kill adds: the larger of the two views of what was held. */
export const boundOf = (h: Held): number => Math.max(h.unsettled, h.inFlightRecords);

const NOT_ANSWERED: Held = { unsettled: 0, inFlightRecords: 0, answered: false };

/**
 * What the worker holds now. A scrape that does not answer within `timeoutMs` (or is refused) is
 * tried again, one try per `timeoutMs`, up to `attempts` times (a loaded machine can stall the worker's event loop for a second or two);
 * `answered: false` when none did — the caller must then not take 0 for what was held.
 */
export async function scrapeHeld(
  port: number,
  kind: SourceKind,
  mapping: string,
  batchSize: number,
  o: { attempts?: number; timeoutMs?: number } = {},
): Promise<Held> {
  const attempts = o.attempts ?? 10;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const askedAtMs = Date.now();
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
        signal: AbortSignal.timeout(o.timeoutMs ?? 1000),
      });
      if (res.ok) return { ...heldFrom(await res.text(), kind, mapping, batchSize), askedAtMs };
      await res.arrayBuffer();
    } catch {
      // not answering (yet): try again
    }
    // A refused connection (the worker restarting) fails at once: each try still takes its second.
    const leftMs = askedAtMs + (o.timeoutMs ?? 1000) - Date.now();
    if (leftMs > 0 && attempt < attempts) await new Promise((r) => setTimeout(r, leftMs));
  }
  return NOT_ANSWERED;
}
