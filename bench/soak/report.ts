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
  const bound = r.heldBound + r.ambiguousSends;
  if (r.extraDeliveries > bound)
    problems.push(
      `${r.extraDeliveries} duplicate deliveries > ${bound} held before kills/outages (+ ambiguous sends)`,
    );
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
    'held bound',
    'ambiguous sends',
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
      String(r.heldBound) + (r.blindKills > 0 ? ` (${r.blindKills} blind)` : ''),
      String(r.ambiguousSends),
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
