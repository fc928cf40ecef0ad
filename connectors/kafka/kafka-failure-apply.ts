/**
 * Applies the failure policy's per-partition decisions to the partitions' state: retry counts
 * (committed with the next offset commit, see `kafka-failure-policy.ts`), bisection, retry back-off,
 * and the context the failure record of each given-up record needs.
 */
import type {
  BatchVerdict,
  DropReason,
  SettleOutcome,
  SourceRecord,
} from '../../src/connectors/types.ts';
import { kafkaHandleOf } from './kafka-event.ts';
import {
  decideLaneFailure,
  retryDelayMs,
  type KafkaRetrySettings,
} from './kafka-failure-policy.ts';
import type { KafkaFailureSink } from './kafka-failure-sink.ts';
import type { PartitionLog } from './offset-tracker.ts';

export interface ApplyFailuresInput {
  failed: readonly SourceRecord[];
  verdict: BatchVerdict;
  partitions: ReadonlyMap<string, PartitionLog>;
  settings: KafkaRetrySettings;
  backoff: { baseMs: number; maxMs: number };
  sink: KafkaFailureSink;
  nowMs: number;
  /** Partitions whose retry state changed (their next commit carries it). */
  retryDirty: Set<string>;
  onDropped(reason: DropReason): void;
}

export function applyFailures(i: ApplyFailuresInput): Pick<SettleOutcome, 'failed' | 'dropped'> {
  const out: Pick<SettleOutcome, 'failed' | 'dropped'> = { failed: [], dropped: [] };
  const byLane = new Map<string, SourceRecord[]>();
  for (const r of i.failed) {
    const list = byLane.get(r.lane);
    if (list) list.push(r);
    else byLane.set(r.lane, [r]);
  }
  const functionError = i.verdict.functionError;
  for (const [lane, records] of byLane) {
    const log = i.partitions.get(lane);
    if (!log) {
      out.failed.push(...records); // revoked: settle ignores them, the new owner redelivers
      continue;
    }
    records.sort((a, b) => (kafkaHandleOf(a).offset < kafkaHandleOf(b).offset ? -1 : 1));
    const d = decideLaneFailure(
      { records, retry: log.retry, functionError, nowMs: i.nowMs },
      i.settings,
    );
    log.retry = d.nextRetry;
    if (d.bisect) log.bisect = d.bisect;
    if (d.nextRetry && !d.bisect) {
      log.notBeforeMs =
        i.nowMs + retryDelayMs(d.nextRetry.attempts, i.backoff.baseMs, i.backoff.maxMs);
    }
    i.retryDirty.add(lane);
    out.failed.push(...d.retry);
    for (const { record, reason, attempts } of d.dropped) {
      i.sink.remember(record, { attempts, functionError });
      i.onDropped(reason);
      out.dropped.push({ record, reason, detail: i.verdict.reason });
    }
  }
  return out;
}
