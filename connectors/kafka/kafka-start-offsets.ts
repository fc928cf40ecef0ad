/**
 * Where each newly assigned partition stands: its committed offset and the retry state stored with
 * it, or — for a group with no commit on that partition — the StartingPosition. TRIM_HORIZON and
 * LATEST are kafkajs's own reset rule (`fromBeginning`); AT_TIMESTAMP is looked up here and
 * applied with a seek. Committed offsets always win over the StartingPosition (as on AWS).
 */
import type { KafkaSourceClient } from './kafka-client-adapter.ts';
import { decodeRetryMetadata } from './kafka-failure-policy.ts';
import type { RetryState } from './offset-tracker.ts';

export interface PartitionStart {
  partition: number;
  /** The group's committed offset (next to consume), if any. */
  committed: bigint | undefined;
  /** Retry state committed with that offset by a previous owner. */
  retry: RetryState | undefined;
  /** AT_TIMESTAMP for a partition without commit: seek here. */
  seekTo: string | undefined;
}

export async function readPartitionStarts(
  client: KafkaSourceClient,
  o: {
    groupId: string;
    topic: string;
    startingPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
    startingPositionTimestampMs?: number | undefined;
  },
  partitions: readonly number[],
): Promise<PartitionStart[]> {
  const committed = (await client.committedOffsets(o.groupId, o.topic)).filter((c) =>
    partitions.includes(c.partition),
  );
  const fresh = committed.filter((c) => c.offset === '-1');
  const seeks = new Map<number, string>();
  if (fresh.length > 0 && o.startingPosition === 'AT_TIMESTAMP') {
    const at = await client.offsetsAtTimestamp(o.topic, o.startingPositionTimestampMs ?? 0);
    const ends = await client.endOffsets(o.topic);
    for (const c of fresh) {
      const offset = at.get(c.partition);
      // No record at or after the timestamp: start at the end.
      seeks.set(c.partition, offset && offset !== '-1' ? offset : (ends.get(c.partition) ?? '0'));
    }
  }
  return committed.map((c) => {
    const offset = c.offset === '-1' ? undefined : BigInt(c.offset);
    const retry = decodeRetryMetadata(c.metadata);
    return {
      partition: c.partition,
      committed: offset,
      retry: retry && offset !== undefined && retry.offset === offset ? retry : undefined,
      seekTo: seeks.get(c.partition),
    };
  });
}
