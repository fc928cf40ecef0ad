/** Pure counting of what the recorder function wrote against what was sent. */

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

export function countLines(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of text.split('\n')) if (id !== '') counts.set(id, (counts.get(id) ?? 0) + 1);
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
