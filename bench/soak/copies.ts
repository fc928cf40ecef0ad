/**
 * What each kill may have caused and what it did: the note the chaos keeps per kill, and the
 * charging of every extra delivery the recorder saw to the kill that ended the generation of the
 * delivery before it (tally.ts), with the kill's bound completed from the record file.
 */
import { attribute, parseDeliveries, type Delivery } from './tally.ts';

/** One end of a worker generation by SIGKILL, and what it may have caused. */
export interface KillNote {
  /** 1-based; failed starts' kills count too. */
  kill: number;
  /** The generation the kill ended. */
  gen: number;
  upMs: number;
  /** What `/metrics` said was held just before the kill (the larger of its two views). */
  held: number;
  /** When the scrape that answered was sent. */
  scrapedAtMs?: number;
  /** From sending that scrape to the SIGKILL (the gap in which a batch could still start). */
  scrapeToKillMs?: number;
  /**
   * Records the generation's function finished after that scrape was sent (filled after the
   * count): received after it — between the scrape and the kill — or held at it (counted twice
   * then; the bound stays an upper one). Measured from the record file, not guessed.
   */
  finishedAfterScrape: number;
  /** No scrape answered: the bound is the source's `maxHeld`. */
  blind: boolean;
  /** held + finishedAfterScrape, or maxHeld when blind. */
  bound: number;
  /** Extra deliveries whose previous delivery was in this generation (filled after the count). */
  duplicates: number;
}

/** Deliveries of generation `gen` the function finished at or after `fromMs`. */
function finishedAfter(deliveries: Map<string, Delivery[]>, gen: number, fromMs: number): number {
  let n = 0;
  for (const list of deliveries.values())
    for (const d of list) if (d.gen === gen && d.atMs >= fromMs) n += 1;
  return n;
}

/** Charges every extra delivery to a kill, an outage or an ambiguous send; logs what is left. */
export function attributeCopies(
  recordedText: string,
  sent: ReadonlySet<string>,
  ambiguousIds: ReadonlyMap<string, number>,
  killNotes: KillNote[],
  log: (line: string) => void,
) {
  const deliveries = parseDeliveries(recordedText);
  for (const id of deliveries.keys()) if (!sent.has(id)) deliveries.delete(id);
  const a = attribute(deliveries, ambiguousIds);
  for (const k of killNotes) {
    if (k.scrapedAtMs === undefined) continue;
    k.finishedAfterScrape = finishedAfter(deliveries, k.gen, k.scrapedAtMs);
    k.bound = k.held + k.finishedAfterScrape;
  }
  let unattributed = 0;
  for (const [gen, n] of a.byEndedGen) {
    const note = killNotes.find((k) => k.gen === gen);
    if (note) note.duplicates += n;
    else unattributed += n;
  }
  for (const k of killNotes)
    if (k.duplicates > 0)
      log(
        `  kill ${k.kill} (generation ${k.gen}): ${k.duplicates} copies; bound ${k.bound} (${k.blind ? 'blind' : `held ${k.held} + finished after the scrape ${k.finishedAfterScrape}`})`,
      );
  for (const c of a.sameGen.slice(0, 20))
    log(
      `  copy within generation ${c.gen}: ${c.id} — ${c.deliveries.map((d) => `gen ${d.gen} receive #${d.receives} at ${new Date(d.atMs).toISOString().slice(11, 23)}`).join(', ')}`,
    );
  return { ...a, unattributed };
}
