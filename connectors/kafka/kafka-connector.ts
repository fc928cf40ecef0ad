/**
 * The Kafka connector: one consumer group per mapping, partitions as ordering lanes.
 *
 * kafkajs pushes (`eachBatch`); the engine pulls (`fetch`). The bridge is a bounded buffer per
 * partition (`PartitionLog`): eachBatch only appends and returns, pausing a partition whose buffer
 * is full and resuming it once `fetch` drained it. Because eachBatch never waits on a function,
 * kafkajs's loop keeps heartbeating while batches run for minutes (no rebalance storms from slow
 * functions, kafkajs #447/#1083), and a blocked partition never holds up the others' fetches.
 *
 * Commits are explicit and contiguous, queued on settle and written together within
 * `commitIntervalMs` (at once on stop and when a rebalance begins), fenced by the group generation
 * (a process that lost a partition cannot commit past its new owner). On a rebalance, buffered
 * records of revoked partitions are dropped and settles of their in-flight batches ignored (the
 * new owner redelivers those: the only duplicates); committed offsets are re-read for every
 * assigned partition. Rules: `offset-tracker.ts`, `kafka-failure-policy.ts`.
 */
import type { Logger } from 'pino';
import type {
  BatchVerdict,
  Connector,
  ConnectorHealth,
  FetchRequest,
  SettleOutcome,
  SourceRecord,
} from '../../src/connectors/types.ts';
import { SluiceError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import type { FetchedBatch } from './kafka-client-adapter.ts';
import { OffsetCommitter, Waiters } from './kafka-committer.ts';
import { topicNotFound, translateKafkaError } from './kafka-errors.ts';
import { buildKafkaEvent, kafkaHandleOf, laneOf, toSourceRecord } from './kafka-event.ts';
import { applyFailures } from './kafka-failure-apply.ts';
import { encodeRetryMetadata, retryDelayMs } from './kafka-failure-policy.ts';
import type { KafkaConnectorOptions } from './kafka-connector-options.ts';
import { readPartitionStarts } from './kafka-start-offsets.ts';
import { PartitionLog } from './offset-tracker.ts';

export type { KafkaConnectorOptions } from './kafka-connector-options.ts';
import { type KafkaTuning, resolveTuning } from './kafka-tuning.ts';

const ISOLATION_WAIT_MS = 2000;

function isRetrying(log: PartitionLog): boolean {
  return log.retry !== undefined || log.bisect !== undefined;
}

export class KafkaConnector implements Connector {
  readonly kind = 'kafka';
  readonly #o: KafkaConnectorOptions;
  readonly #t: KafkaTuning;
  #maxLanes: number | undefined;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #servers: string;
  readonly #partitions = new Map<string, PartitionLog>();
  readonly #paused = new Set<string>();
  readonly #waiters = new Waiters();
  readonly #committer: OffsetCommitter;
  readonly #retryDirty = new Set<string>();
  /** When a ready retrying partition was first passed over, by lane (starvation guard). */
  readonly #skippedSince = new Map<string, number>();
  #loading: Promise<void> = Promise.resolve();
  #epoch = 0;
  #cursor = 0;
  #rebalancing = true;
  #running = false;
  #rejoinTimer: NodeJS.Timeout | undefined;
  /** The mapping is disabled: the consumer fetches nothing (see `pause`). */
  #suspended = false;
  #health: ConnectorHealth = { ok: false, detail: 'not started' };
  #stopping: Promise<void> | undefined;

  constructor(options: KafkaConnectorOptions) {
    this.#o = options;
    this.#t = resolveTuning(options.tuning);
    this.#now = options.now ?? Date.now;
    this.#servers = options.bootstrapServers.join(',');
    this.#committer = new OffsetCommitter({
      commit: (offsets) => this.#o.client.commit(offsets),
      canCommit: () => !this.#rebalancing && this.#running,
      owns: (lane) => this.#partitions.has(lane),
      intervalMs: this.#t.commitIntervalMs,
      onCommitted: (records) => this.#o.metrics?.committed.inc({ mapping: this.#o.name }, records),
      onRefused: (err, lanes) => {
        // A commit sent as a rebalance begins may reach the broker after the group re-formed:
        // refused then as a matter of course, not an error worth an alert.
        if (this.#rebalancing) {
          this.#logger.debug(
            { err: err.message, partitions: lanes },
            'offset commit refused during a rebalance; kept for after it',
          );
          return;
        }
        this.#o.metrics?.commitErrors.inc({ mapping: this.#o.name });
        this.#logger.warn(
          { err: err.message, partitions: lanes },
          'offset commit refused; kept for the next commit (records may be redelivered)',
        );
      },
    });
    this.#logger = (options.logger ?? silentLogger()).child({
      connector: 'kafka',
      mapping: options.name,
      topic: options.topic,
      group: options.consumerGroupId,
    });
  }

  async start(): Promise<void> {
    if (this.#stopping) throw new SluiceError('CONNECTOR', 'Kafka connector is stopped');
    if (this.#running) return;
    const where = { brokers: this.#servers, topic: this.#o.topic };
    let partitions: number[];
    try {
      partitions = await this.#o.client.connect(this.#o.topic);
    } catch (err) {
      await this.#o.client.disconnect();
      throw this.#failed(translateKafkaError(err, 'connect', where));
    }
    if (partitions.length === 0) {
      await this.#o.client.disconnect();
      throw this.#failed(topicNotFound(where));
    }
    try {
      await this.#runConsumer();
    } catch (err) {
      await this.#o.client.disconnect();
      throw this.#failed(translateKafkaError(err, 'join group', where));
    }
    this.#running = true;
    this.#maxLanes = partitions.length;
    this.#health = { ok: true };
    this.#logger.info(
      { partitions: partitions.length, startingPosition: this.#o.startingPosition },
      `Kafka source started: at most ${partitions.length} batches in flight for this mapping ` +
        '(one per partition), whatever its concurrency settings',
    );
  }

  /** Joins the group and starts kafkajs's fetch loop (at start, and after a crash it gave up on). */
  #runConsumer(): Promise<void> {
    const where = { brokers: this.#servers, topic: this.#o.topic };
    return this.#o.client.run(
      {
        groupId: this.#o.consumerGroupId,
        topic: this.#o.topic,
        fromBeginning: this.#o.startingPosition !== 'LATEST',
        sessionTimeoutMs: this.#t.sessionTimeoutMs,
        heartbeatIntervalMs: this.#t.heartbeatIntervalMs,
        maxWaitTimeMs: this.#t.maxWaitTimeMs,
        maxBytesPerPartition: this.#t.maxBytesPerPartition,
      },
      {
        onBatch: (batch) => this.#onBatch(batch),
        onAssigned: (assignment) => this.#onAssigned(assignment[this.#o.topic] ?? []),
        onRebalancing: () => {
          // What was settled before the rebalance is committed under the ending generation, so
          // the partitions' next owners redo only the batches that were in flight.
          void this.#committer.flush(true);
          this.#rebalancing = true;
        },
        onCrash: (error, restarting) => {
          const t = translateKafkaError(error, 'consume', where);
          this.#health = t.health;
          this.#logger.error({ err: t.error.message, restarting }, 'Kafka consumer crashed');
          // kafkajs restarts itself after retriable errors only; after any other (credentials
          // rotated, ACLs changed) its consumer is gone for good. Rejoin with back-off instead
          // of leaving an Enabled mapping that consumes nothing.
          if (!restarting) this.#scheduleRejoin(1);
        },
      },
    );
  }

  #scheduleRejoin(attempt: number): void {
    if (this.#stopping) return;
    this.#rebalancing = true; // no commits until the group is joined again
    const delayMs = retryDelayMs(attempt, this.#t.retryBaseMs, this.#t.retryMaxMs);
    this.#logger.warn({ attempt, retryInMs: delayMs }, 'rejoining the consumer group');
    clearTimeout(this.#rejoinTimer);
    this.#rejoinTimer = setTimeout(() => {
      this.#rejoinTimer = undefined;
      if (this.#stopping) return;
      this.#runConsumer().catch((err: unknown) => {
        this.#health = translateKafkaError(err, 'join group', {
          brokers: this.#servers,
          topic: this.#o.topic,
        }).health;
        this.#scheduleRejoin(attempt + 1);
      });
    }, delayMs);
  }

  /** The topic's partitions, as read by `start()`: one batch in flight each, at most. */
  get maxLanes(): number | undefined {
    return this.#maxLanes;
  }

  /** Records fetched from Kafka and not handed out yet, over every partition. */
  get bufferedRecords(): number {
    let n = 0;
    for (const log of this.#partitions.values()) n += log.buffered;
    return n;
  }

  /** The client and buffer settings in force (defaults, environment and mapping merged). */
  get tuning(): Readonly<KafkaTuning> {
    return this.#t;
  }

  async fetch(request: FetchRequest): Promise<SourceRecord[]> {
    if (request.max <= 0) return [];
    const deadline = this.#now() + request.waitMs;
    while (!this.#stopping && !request.signal.aborted) {
      const records = this.#take(request.max, request.busyLanes);
      if (records.length > 0) return records;
      const left = deadline - this.#now();
      if (left <= 0) return [];
      await this.#waiters.wait(request.signal, Math.min(left, this.#nextBackoffMs()));
    }
    return [];
  }

  /**
   * Takes ready partitions in rotation, so every partition gets its turn. A retrying partition
   * (failed before, or being bisected) goes out alone, in a fetch that starts a batch, and while
   * its records are out no fetch continues a batch: so a poison record never drags the records of
   * healthy partitions into its retries — its partition is blocked, the others flow. (A retrying
   * partition passed over for `ISOLATION_WAIT_MS` goes out anyway, so a smaller batch size set at
   * run time cannot stall it.)
   */
  #take(max: number, busy: ReadonlySet<string> | undefined): SourceRecord[] {
    if (this.#rebalancing) return [];
    const logs = [...this.#partitions.values()];
    const fresh = max >= (this.#o.batchSize ?? 100);
    if (!fresh && logs.some((l) => isRetrying(l) && l.outstanding > 0)) return [];
    const out: SourceRecord[] = [];
    const now = this.#now();
    for (let i = 0; i < logs.length && out.length < max; i++) {
      const log = logs[(this.#cursor + i) % logs.length] as PartitionLog;
      if (busy?.has(log.lane) || !log.ready(now)) continue;
      if (isRetrying(log)) {
        const since = this.#skippedSince.get(log.lane) ?? now;
        if (out.length > 0 || (!fresh && now - since < ISOLATION_WAIT_MS)) {
          this.#skippedSince.set(log.lane, since);
          continue;
        }
        this.#skippedSince.delete(log.lane);
        const alone = log.take(max, now);
        this.#maybeResume(log);
        this.#cursor = (this.#cursor + 1) % logs.length;
        return alone;
      }
      out.push(...log.take(max - out.length, now));
      this.#maybeResume(log);
    }
    this.#cursor = (this.#cursor + 1) % Math.max(1, logs.length);
    return out;
  }

  /**
   * Disabled mapping: the consumer stops fetching (Lambda's "no polling while disabled"). It
   * stays in the group and keeps its partitions, so enabling again resumes where it was without
   * a rebalance; buffered records stay and are handed out after `resume()`.
   */
  pause(): void {
    this.#suspended = true;
    this.#o.client.pauseTopic(this.#o.topic);
  }

  resume(): void {
    if (!this.#suspended) return;
    this.#suspended = false;
    this.#o.client.resumeTopic(this.#o.topic);
    // Partitions paused for a full buffer were resumed with the topic; they pause again as the
    // next fetch fills them, and resume as `fetch` drains them.
    this.#paused.clear();
  }

  buildEvent(records: readonly SourceRecord[]): Buffer {
    return buildKafkaEvent(records, this.#servers);
  }

  /** The engine's FailurePolicy hook: Lambda's retry, age and bisect rules, per partition. */
  applyFailurePolicy(
    failed: SourceRecord[],
    verdict: BatchVerdict,
  ): Pick<SettleOutcome, 'failed' | 'dropped'> {
    return applyFailures({
      failed,
      verdict,
      partitions: this.#partitions,
      settings: this.#o.retry,
      backoff: { baseMs: this.#t.retryBaseMs, maxMs: this.#t.retryMaxMs },
      sink: this.#o.failureSink,
      nowMs: this.#now(),
      retryDirty: this.#retryDirty,
      onDropped: (reason) => this.#o.metrics?.dropped.inc({ mapping: this.#o.name, reason }),
    });
  }

  async settle(outcome: SettleOutcome): Promise<void> {
    // Given-up records reach the destination before anything is committed past them — once: a
    // record given up before and handed out again behind a retried record is not sent again.
    const repeated = outcome.dropped.filter((d) => kafkaHandleOf(d.record).givenUp);
    const fresh = outcome.dropped.filter((d) => !kafkaHandleOf(d.record).givenUp);
    const { delivered, undelivered } = await this.#o.failureSink.deliver(fresh);
    for (const record of delivered) kafkaHandleOf(record).givenUp = true;
    const m = this.#o.metrics;
    if (delivered.length > 0 && this.#o.failureSink.hasDestination) {
      m?.destinationDelivered.inc({ mapping: this.#o.name }, delivered.length);
    }
    if (undelivered.length > 0) {
      m?.destinationFailures.inc({ mapping: this.#o.name }, undelivered.length);
    }
    const touched = new Set<string>();
    const mark = (records: readonly SourceRecord[], state: 'done' | 'failed') => {
      for (const record of records) {
        const log = this.#partitions.get(record.lane);
        if (log?.settle(record, state)) touched.add(record.lane);
      }
    };
    mark(outcome.succeeded, 'done');
    mark(delivered, 'done');
    mark(
      repeated.map((d) => d.record),
      'done',
    );
    mark([...outcome.failed, ...(outcome.released ?? [])], 'failed');
    mark(undelivered, 'failed');
    // A destination that refused is not asked again at once: the partition waits the longest
    // retry delay (a refusing destination would otherwise be hit in a tight loop).
    for (const record of undelivered) {
      const log = this.#partitions.get(record.lane);
      if (log) log.notBeforeMs = Math.max(log.notBeforeMs, this.#now() + this.#t.retryMaxMs);
    }
    for (const lane of new Set([...touched, ...this.#retryDirty])) {
      const log = this.#partitions.get(lane);
      if (!log) continue;
      const { commitTo, committedRecords, requeued } = log.advance();
      const retryAt = this.#retryDirty.has(lane) ? log.retry?.offset : undefined;
      this.#retryDirty.delete(lane);
      const offset = retryAt ?? commitTo;
      // Never behind what is committed (a stale retry head after another member moved on).
      if (offset !== undefined && (log.committed === undefined || offset >= log.committed)) {
        // Counted as committed when the broker accepts the commit (see OffsetCommitter); records
        // behind another member's newer commit are not counted again.
        this.#queueCommit(log, offset, committedRecords);
      }
      if (requeued > 0) this.#waiters.notify();
    }
    // Asynchronous, like Kafka's commitAsync: the partition's next batch need not wait for the
    // broker's answer. Commits are serialised, cumulative and coalesced (`commitIntervalMs`), so
    // a later one covers an earlier one; a crash before it lands means a redelivery of at most
    // that interval's records — the at-least-once case anyway. Stop and rebalances flush first.
    this.#committer.schedule();
  }

  /** Resolves once every commit queued so far has been written (or refused and kept pending). */
  flushCommits(): Promise<void> {
    return this.#committer.flush();
  }

  #queueCommit(log: PartitionLog, offset: bigint, records = 0): void {
    const retry = log.retry && log.retry.offset === offset ? log.retry : undefined;
    const metadata = encodeRetryMetadata(retry);
    const commit = { topic: log.topic, partition: log.partition, offset: `${offset}`, metadata };
    this.#committer.queue(log.lane, commit, records);
  }

  async #onBatch(batch: FetchedBatch): Promise<void> {
    await this.#loading;
    const lane = laneOf(batch.topic, batch.partition);
    const log = this.#partitions.get(lane);
    if (!log || batch.isStale() || this.#stopping) return;
    log.highWatermark = BigInt(batch.highWatermark);
    const records = batch.messages.map((m) =>
      toSourceRecord(batch.topic, batch.partition, m, log.epoch, lane),
    );
    if (log.accept(records) > 0) this.#waiters.notify();
    if (
      !this.#paused.has(lane) &&
      (log.buffered >= this.#t.bufferRecords || log.bufferedBytes >= this.#t.bufferBytes)
    ) {
      this.#paused.add(lane);
      this.#o.client.pause(log.topic, log.partition);
    }
  }

  #maybeResume(log: PartitionLog): void {
    if (this.#suspended || !this.#paused.has(log.lane)) return;
    if (log.buffered > this.#t.bufferRecords / 2 || log.bufferedBytes > this.#t.bufferBytes / 2) {
      return;
    }
    this.#paused.delete(log.lane);
    this.#o.client.resume(log.topic, log.partition);
  }

  #onAssigned(partitions: number[]): void {
    this.#o.metrics?.rebalances.inc({ mapping: this.#o.name });
    if (this.#running) this.#health = { ok: true };
    const lanes = new Map(partitions.map((p) => [laneOf(this.#o.topic, p), p]));
    for (const [lane, log] of this.#partitions) {
      if (lanes.has(lane)) continue;
      const dropped = log.clear();
      this.#partitions.delete(lane);
      this.#paused.delete(lane);
      this.#committer.forget(lane);
      this.#o.metrics?.offsetLag.remove({ mapping: this.#o.name, partition: lane });
      this.#logger.info({ partition: lane, droppedRecords: dropped.length }, 'partition revoked');
    }
    for (const [lane, p] of lanes) {
      if (!this.#partitions.has(lane)) {
        this.#partitions.set(lane, new PartitionLog(this.#o.topic, p, lane, ++this.#epoch));
      }
    }
    this.#o.metrics?.assignedPartitions.set({ mapping: this.#o.name }, lanes.size);
    this.#logger.info(
      { partitions: [...lanes.keys()] },
      `partitions assigned: at most ${lanes.size} batches of this mapping in flight here`,
    );
    this.#loading = this.#syncStarts([...lanes.values()]).finally(() => {
      this.#rebalancing = false;
      this.#waiters.notify();
      void this.#committer.flush();
    });
  }

  async #syncStarts(partitions: number[]): Promise<void> {
    const { topic } = this.#o;
    try {
      const starts = await readPartitionStarts(
        this.#o.client,
        { ...this.#o, groupId: this.#o.consumerGroupId },
        partitions,
      );
      for (const start of starts) {
        const log = this.#partitions.get(laneOf(topic, start.partition));
        if (!log) continue;
        if (start.seekTo !== undefined) this.#o.client.seek(topic, start.partition, start.seekTo);
        log.syncCommitted(start.seekTo !== undefined ? BigInt(start.seekTo) : start.committed);
        if (start.retry && !log.retry) log.retry = start.retry;
      }
    } catch (err) {
      // Without committed offsets the partitions still start where kafkajs resumes them; only the
      // retry counts of a previous owner are unknown (they restart at 0).
      this.#logger.warn({ err: (err as Error).message }, 'reading committed offsets failed');
    }
  }

  async backlog(): Promise<number | undefined> {
    if (!this.#running) return undefined;
    try {
      const ends = await this.#o.client.endOffsets(this.#o.topic);
      for (const log of this.#partitions.values()) {
        const end = ends.get(log.partition);
        if (end !== undefined) log.highWatermark = BigInt(end);
      }
    } catch {
      // Lag from the last fetched high watermarks.
    }
    return this.#o.metrics
      ? this.#o.metrics.recordLag(this.#o.name, this.#partitions.values())
      : [...this.#partitions.values()].reduce((n, log) => n + (log.lag() ?? 0), 0);
  }

  health(): ConnectorHealth {
    return { ...this.#health };
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      clearTimeout(this.#rejoinTimer);
      this.#waiters.notify();
      // Commits already earned are written (even as a rebalance begins: the ending generation's
      // commits are accepted until the group re-forms); unsettled records stay uncommitted and go
      // to the partition's next owner.
      await this.#committer.flush(true).catch(() => undefined);
      this.#running = false;
      for (const log of this.#partitions.values()) log.clear();
      this.#partitions.clear();
      await this.#o.client.disconnect();
      this.#health = { ok: false, detail: 'stopped' };
    })();
    return this.#stopping;
  }

  #nextBackoffMs(): number {
    const now = this.#now();
    let next = Number.POSITIVE_INFINITY;
    for (const log of this.#partitions.values()) {
      if (log.notBeforeMs > now && log.buffered > 0) next = Math.min(next, log.notBeforeMs - now);
    }
    return next;
  }

  #failed(t: { error: SluiceError; health: ConnectorHealth }): SluiceError {
    this.#health = t.health;
    return t.error;
  }
}
