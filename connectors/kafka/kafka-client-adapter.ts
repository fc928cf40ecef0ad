/**
 * The Kafka client behind an interface, so the connector never touches kafkajs types and another
 * client (kafkajs has been looking for maintainers since 2023) can replace it. `KafkajsSourceClient`
 * is the kafkajs implementation; unit tests use a fake of `KafkaSourceClient`.
 */
import type { Admin, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { KafkaMessageLike } from './kafka-event.ts';

/** Messages of one partition from one fetch. */
export interface FetchedBatch {
  topic: string;
  partition: number;
  /** Log end offset the broker reported with this fetch. */
  highWatermark: string;
  messages: KafkaMessageLike[];
  /** True when a seek made this batch obsolete (its messages must be ignored). */
  isStale(): boolean;
}

export interface ConsumerHandlers {
  /**
   * Called per fetched partition batch. Must return promptly (it only buffers): a consumer that
   * is not blocked keeps heartbeating, so slow functions never cost the group its session.
   */
  onBatch(batch: FetchedBatch): Promise<void>;
  /** A (re)join completed with this assignment: partitions by topic. */
  onAssigned(assignment: Record<string, number[]>): void;
  /** A rebalance started; the assignment is about to change. */
  onRebalancing(): void;
  /** The client gave up (it restarts by itself when it can); for health and logs. */
  onCrash(error: Error, restarting: boolean): void;
}

export interface CommittedOffset {
  partition: number;
  /** Next offset to consume; '-1' = the group has no commit for this partition. */
  offset: string;
  metadata: string | null;
}

export interface OffsetCommit {
  topic: string;
  partition: number;
  offset: string;
  metadata: string | null;
}

export interface ConsumerSettings {
  groupId: string;
  topic: string;
  /** Where to start when the group has no committed offset: earliest (true) or latest. */
  fromBeginning: boolean;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** Longest a fetch waits on the broker for data; bounds how soon a resumed partition flows. */
  maxWaitTimeMs: number;
  maxBytesPerPartition: number;
}

export interface KafkaSourceClient {
  /** Connects the admin client and checks the topic exists; returns its partitions. */
  connect(topic: string): Promise<number[]>;
  committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]>;
  /** The earliest offset at or after `timestampMs` per partition ('-1' = none: use the end). */
  offsetsAtTimestamp(topic: string, timestampMs: number): Promise<Map<number, string>>;
  /** Log end offsets per partition. */
  endOffsets(topic: string): Promise<Map<number, string>>;
  /** Joins the group and starts fetching; resolves once running. */
  run(settings: ConsumerSettings, handlers: ConsumerHandlers): Promise<void>;
  pause(topic: string, partition: number): void;
  resume(topic: string, partition: number): void;
  /** Every partition of the topic, now and after rebalances, until `resumeTopic`. */
  pauseTopic(topic: string): void;
  resumeTopic(topic: string): void;
  seek(topic: string, partition: number, offset: string): void;
  /**
   * Commits with the consumer's current group generation. The broker checks the generation and
   * member, not which partitions the member holds: a commit of an older generation is refused,
   * but one retried by kafkajs after a re-join carries the new generation and is accepted even for
   * a partition this member no longer owns (the cost is a redelivery, never a skipped record: the
   * offset is still a settled prefix).
   */
  commit(offsets: OffsetCommit[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** kafkajs implementation over a shared `Kafka` client (one consumer + one admin per mapping). */
export class KafkajsSourceClient implements KafkaSourceClient {
  readonly #kafka: Kafka;
  #admin: Admin | undefined;
  #consumer: Consumer | undefined;

  constructor(kafka: Kafka) {
    this.#kafka = kafka;
  }

  async connect(topic: string): Promise<number[]> {
    if (!this.#admin) {
      const admin = this.#kafka.admin();
      try {
        await admin.connect();
      } catch (err) {
        await admin.disconnect().catch(() => undefined);
        throw err;
      }
      this.#admin = admin;
    }
    const metadata = await this.#admin.fetchTopicMetadata({ topics: [topic] });
    const found = metadata.topics.find((t) => t.name === topic);
    return (found?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
  }

  async committedOffsets(groupId: string, topic: string): Promise<CommittedOffset[]> {
    const result = await this.#requireAdmin().fetchOffsets({ groupId, topics: [topic] });
    return (result.find((t) => t.topic === topic)?.partitions ?? []).map((p) => ({
      partition: p.partition,
      offset: p.offset,
      metadata: p.metadata,
    }));
  }

  async offsetsAtTimestamp(topic: string, timestampMs: number): Promise<Map<number, string>> {
    const rows = await this.#requireAdmin().fetchTopicOffsetsByTimestamp(topic, timestampMs);
    return new Map(rows.map((r) => [r.partition, r.offset]));
  }

  async endOffsets(topic: string): Promise<Map<number, string>> {
    const rows = await this.#requireAdmin().fetchTopicOffsets(topic);
    return new Map(rows.map((r) => [r.partition, r.high]));
  }

  async run(s: ConsumerSettings, handlers: ConsumerHandlers): Promise<void> {
    const consumer = this.#kafka.consumer({
      groupId: s.groupId,
      sessionTimeout: s.sessionTimeoutMs,
      heartbeatInterval: s.heartbeatIntervalMs,
      maxWaitTimeInMs: s.maxWaitTimeMs,
      maxBytesPerPartition: s.maxBytesPerPartition,
      allowAutoTopicCreation: false,
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => handlers.onAssigned(e.payload.memberAssignment));
    consumer.on(consumer.events.REBALANCING, () => handlers.onRebalancing());
    consumer.on(consumer.events.CRASH, (e) => handlers.onCrash(e.payload.error, e.payload.restart));
    await consumer.connect();
    await consumer.subscribe({ topics: [s.topic], fromBeginning: s.fromBeginning });
    await consumer.run({
      autoCommit: false,
      // Resolved by hand: a stale batch (fetched before a seek) must not move the position.
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, isStale }) => {
        await handlers.onBatch({
          topic: batch.topic,
          partition: batch.partition,
          highWatermark: batch.highWatermark,
          messages: batch.messages as (KafkaMessage & KafkaMessageLike)[],
          isStale,
        });
        if (!isStale() && batch.messages.length > 0) resolveOffset(batch.lastOffset());
      },
    });
  }

  pause(topic: string, partition: number): void {
    this.#consumer?.pause([{ topic, partitions: [partition] }]);
  }

  resume(topic: string, partition: number): void {
    this.#consumer?.resume([{ topic, partitions: [partition] }]);
  }

  pauseTopic(topic: string): void {
    this.#consumer?.pause([{ topic }]);
  }

  resumeTopic(topic: string): void {
    this.#consumer?.resume([{ topic }]);
  }

  seek(topic: string, partition: number, offset: string): void {
    this.#consumer?.seek({ topic, partition, offset });
  }

  async commit(offsets: OffsetCommit[]): Promise<void> {
    if (!this.#consumer) throw new Error('consumer not running');
    await this.#consumer.commitOffsets(offsets);
  }

  async disconnect(): Promise<void> {
    const consumer = this.#consumer;
    const admin = this.#admin;
    this.#consumer = undefined;
    this.#admin = undefined;
    await Promise.allSettled([consumer?.disconnect(), admin?.disconnect()]);
  }

  #requireAdmin(): Admin {
    if (!this.#admin) throw new Error('admin client not connected');
    return this.#admin;
  }
}
