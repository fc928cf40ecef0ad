/**
 * Pure counting of what the recorder function wrote against what was sent, and the attribution of
 * every extra delivery to what caused it: the kill that ended the worker generation of the
 * delivery before it, or — when both deliveries are in one generation — no kill at all.
 */

export interface Tally {
  sent: number;
  /** Sent records the function finished at least once. */
  processed: number;
  lost: number;
  /** Deliveries beyond the first, summed over records. */
  extraDeliveries: number;
  /** Most copies of one record. */
  maxCopies: number;
  /** Ids the function saw that were never sent (must be 0). */
  unknown: number;
}

/** One line the recorder wrote: `<id> <generation> <receive count> <ms> <message>`. */
export interface Delivery {
  /** Worker generation (1 = the first worker started); NaN when the line has none. */
  gen: number;
  /** SQS ApproximateReceiveCount, RabbitMQ 'first' / 'redelivered', '-' elsewhere. */
  receives: string;
  atMs: number;
  /** The stored message: SQS messageId, Kafka partition:offset; '-' when unknown. */
  message: string;
}

export function parseDeliveries(text: string): Map<string, Delivery[]> {
  const byId = new Map<string, Delivery[]>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [id = '', gen, receives = '-', at, message = '-'] = line.split(' ');
    const list = byId.get(id) ?? [];
    list.push({ gen: Number(gen), receives, atMs: Number(at), message });
    byId.set(id, list);
  }
  return byId;
}

export function countLines(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [id, list] of parseDeliveries(text)) counts.set(id, list.length);
  return counts;
}

export function tally(sent: ReadonlySet<string>, counts: ReadonlyMap<string, number>): Tally {
  let processed = 0;
  let extraDeliveries = 0;
  let maxCopies = 0;
  let unknown = 0;
  for (const [id, n] of counts) {
    if (!sent.has(id)) {
      unknown += 1;
      continue;
    }
    processed += 1;
    extraDeliveries += n - 1;
    maxCopies = Math.max(maxCopies, n);
  }
  return {
    sent: sent.size,
    processed,
    lost: sent.size - processed,
    extraDeliveries,
    maxCopies,
    unknown,
  };
}

/** An extra delivery in the same generation as the one before it: no kill explains it. */
export interface SameGenerationCopy {
  id: string;
  gen: number;
  /** Every delivery of the record, in generation order. */
  deliveries: Delivery[];
}

export interface Attribution {
  /** Generation g → extra deliveries whose previous delivery was in g (so: caused by g's end). */
  byEndedGen: Map<number, number>;
  sameGen: SameGenerationCopy[];
  /**
   * First deliveries of a second stored copy of a record (another SQS messageId or Kafka offset):
   * the producer's retry stored it twice. Not a redelivery.
   */
  storedTwice: number;
  /** Extra deliveries of records whose send was ambiguous and whose message is unknown (async). */
  ambiguous: number;
}

/**
 * Whether `now` is the first delivery of another stored copy than the deliveries before it. Only
 * known where the message has an identity: RabbitMQ's redelivered flag is evidence, not proof (a
 * broker restart can forget it), so RabbitMQ and async copies fall to the ambiguous sends.
 */
function isAnotherMessage(now: Delivery, before: readonly Delivery[]): boolean {
  return now.message !== '-' && !before.some((d) => d.message === now.message);
}

/**
 * Each extra delivery of a record is charged to the generation of the delivery before it (the
 * worker whose kill left the record unsettled), or listed as same-generation — unless it is the
 * first delivery of a second stored copy (see `storedTwice`). When the message is unknown, an id
 * sent ambiguously may have been stored `n` times: its first `n` extra deliveries are charged there.
 */
export function attribute(
  deliveries: ReadonlyMap<string, readonly Delivery[]>,
  ambiguousIds: ReadonlyMap<string, number> = new Map(),
): Attribution {
  const byEndedGen = new Map<number, number>();
  const sameGen: SameGenerationCopy[] = [];
  let ambiguous = 0;
  let storedTwice = 0;
  for (const [id, list] of deliveries) {
    if (list.length < 2) continue;
    // By generation, then time: a killed worker's function may write after the next one started.
    const ordered = [...list].sort((a, b) => a.gen - b.gen || a.atMs - b.atMs);
    let allowance = ambiguousIds.get(id) ?? 0;
    for (let i = 1; i < ordered.length; i++) {
      const now = ordered[i] as Delivery;
      const earlier = ordered.slice(0, i);
      if (isAnotherMessage(now, earlier)) {
        storedTwice += 1;
        continue;
      }
      // The delivery before it of the same stored message.
      const before = earlier.findLast((d) => d.message === now.message) as Delivery;
      if (allowance > 0 && now.message === '-') {
        allowance -= 1;
        ambiguous += 1;
      } else if (before.gen === now.gen || !Number.isFinite(before.gen)) {
        sameGen.push({ id, gen: now.gen, deliveries: ordered });
      } else {
        byEndedGen.set(before.gen, (byEndedGen.get(before.gen) ?? 0) + 1);
      }
    }
  }
  return { byEndedGen, sameGen, storedTwice, ambiguous };
}
