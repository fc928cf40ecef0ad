/** The soak's verdict per source and the table it prints. Pure. */
import type { SourceResult } from './chaos.ts';

export const DRAIN_GOAL_MS = 30_000;

export interface Verdict {
  ok: boolean;
  problems: string[];
}

export function verdictOf(r: SourceResult): Verdict {
  const problems: string[] = [];
  if (r.lost > 0) problems.push(`${r.lost} records lost`);
  if (r.unknown > 0) problems.push(`${r.unknown} ids processed that were never sent`);
  // Per kill: the copies of records whose previous delivery was in the generation it ended. A
  // generation alive during a broker outage may also have lost settles to the outage (an ack or
  // commit the broker never got): its kill's copies, and the copies within one generation, are
  // checked together against its kill's bound plus what was held at the outages.
  const pooled = new Set(r.outageGens);
  let pooledCopies = r.sameGeneration;
  let pooledBound = r.outageBound;
  for (const k of r.killNotes) {
    if (pooled.has(k.gen)) {
      pooledCopies += k.duplicates;
      pooledBound += k.bound;
    } else if (k.duplicates > k.bound) {
      problems.push(
        `kill ${k.kill} (generation ${k.gen}): ${k.duplicates} copies > ${k.bound} held${k.blind ? ' (blind: maxHeld)' : ''}`,
      );
    }
  }
  if (pooledCopies > pooledBound)
    problems.push(
      `${pooledCopies} copies after generations ${r.outageGens.join(', ')} (alive during broker outages) or within one generation > ${pooledBound} held at their kills and the outages`,
    );
  if (r.unattributed > 0)
    problems.push(`${r.unattributed} copies after a generation no kill ended`);
  if (r.drainMs === undefined) problems.push('did not drain');
  else if (r.drainMs > DRAIN_GOAL_MS) problems.push(`drain ${r.drainMs} ms > ${DRAIN_GOAL_MS} ms`);
  if (r.orphans > 0) problems.push(`${r.orphans} orphaned function processes`);
  return { ok: problems.length === 0, problems };
}

export function table(results: SourceResult[]): string {
  const head = [
    'source',
    'sent',
    'processed ≥1',
    'lost',
    'duplicates',
    'max copies',
    'held bound (kills + outages)',
    'copies in one generation',
    'ambiguous sends (copies)',
    'kills',
    'broker outages',
    'drain after last restart',
    'orphans',
    'verdict',
  ];
  const rows = results.map((r) => {
    const v = verdictOf(r);
    return [
      r.kind,
      String(r.sent),
      String(r.processed),
      String(r.lost),
      String(r.extraDeliveries),
      String(r.maxCopies),
      `${r.heldBound - r.outageBound} + ${r.outageBound}` +
        (r.blindKills > 0 ? ` (${r.blindKills} blind)` : ''),
      String(r.sameGeneration),
      `${r.ambiguousSends}` +
        (r.ambiguousDuplicates + r.storedTwice > 0
          ? ` (${r.storedTwice + r.ambiguousDuplicates} copies stored twice)`
          : ''),
      String(r.kills),
      r.outages.length > 0 ? r.outages.join(', ') : '—',
      r.drainMs === undefined ? 'not drained' : `${(r.drainMs / 1000).toFixed(1)} s`,
      String(r.orphans),
      v.ok ? 'ok' : `FAIL: ${v.problems.join('; ')}`,
    ];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
