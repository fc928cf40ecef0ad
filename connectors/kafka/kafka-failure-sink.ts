/**
 * Delivers given-up Kafka records to the mapping's onFailure destination: one message per record,
 * keyed with the record's own key bytes, its body the reference's failure record with `payload` = the
 * one-record `SelfManagedKafka` event. A record is reported delivered only once the destination
 * accepted it; the connector commits past it only then, so a record is never silently lost.
 *
 * The payload is left out when the record is too big to travel inside a failure record
 * (`PAYLOAD_INLINE_LIMIT_BYTES`; every `MaximumPayloadSizeExceeded` record of a real 6 MB cap is):
 * a message every destination refuses would hold its partition forever. `KafkaBatchInfo` still names the record
 * (partition, offset, timestamp, size), so it can be read from the topic while it is retained.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SettleOutcome, SourceRecord } from '../../src/connectors/types.ts';
import type { Destination } from '../../src/destinations/destination.ts';
import { buildKafkaEvent, kafkaHandleOf } from './kafka-event.ts';
import { buildFailureRecord } from './kafka-failure-policy.ts';

/** What the failure policy knew when it gave a record up. */
export interface DropContext {
  attempts: number;
  functionError: boolean;
}

/**
 * Largest one-record event carried in a failure record's `payload`: what fits the smallest
 * destination, an SQS message (256 KiB), with room for the record's own fields.
 */
export const PAYLOAD_INLINE_LIMIT_BYTES = 200 * 1024;

export interface FailureSinkOptions {
  destination: Destination | undefined;
  functionArn: string;
  bootstrapServers: string;
  logger: Logger;
  now?: () => number;
}

export class KafkaFailureSink {
  readonly #o: FailureSinkOptions;
  readonly #now: () => number;
  /** Context of records the policy gave up, until they are delivered (by record id). */
  readonly #contexts = new Map<string, DropContext>();

  constructor(options: FailureSinkOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  get hasDestination(): boolean {
    return this.#o.destination !== undefined;
  }

  remember(record: SourceRecord, context: DropContext): void {
    this.#contexts.set(record.id, context);
  }

  /**
   * Sends each dropped record; returns those the destination accepted (or that there is no
   * destination for: Lambda discards them then) and those to retry because the send failed.
   */
  async deliver(
    dropped: SettleOutcome['dropped'],
  ): Promise<{ delivered: SourceRecord[]; undelivered: SourceRecord[] }> {
    const delivered: SourceRecord[] = [];
    const undelivered: SourceRecord[] = [];
    const destination = this.#o.destination;
    for (const { record, reason, detail } of dropped) {
      const context = this.#contexts.get(record.id);
      if (!destination) {
        this.#o.logger.warn(
          { record: record.id, reason, detail },
          'Kafka record given up with no onFailure destination: skipped',
        );
        this.#contexts.delete(record.id);
        delivered.push(record);
        continue;
      }
      const body = buildFailureRecord({
        requestId: randomUUID(),
        functionArn: this.#o.functionArn,
        reason,
        approximateInvokeCount: context?.attempts ?? 0,
        functionError: context?.functionError ?? false,
        bootstrapServers: this.#o.bootstrapServers,
        record,
        payload: this.#payloadOf(record),
        nowMs: this.#now(),
      });
      const key = kafkaHandleOf(record).key;
      try {
        await destination.send({
          body: JSON.stringify(body),
          // The key's bytes as they are: as text, binary keys would turn into U+FFFD and collapse.
          ...(key ? { key } : {}),
          id: `${record.id}/${reason}`,
        });
        this.#contexts.delete(record.id);
        delivered.push(record);
        this.#o.logger.info(
          { record: record.id, reason, destination: destination.description },
          'Kafka record given up and sent to the onFailure destination',
        );
      } catch (err) {
        this.#o.logger.warn(
          { record: record.id, destination: destination.description, err: (err as Error).message },
          'onFailure delivery failed; the record stays uncommitted and is retried',
        );
        undelivered.push(record);
      }
    }
    return { delivered, undelivered };
  }

  #payloadOf(record: SourceRecord): unknown {
    if (record.sizeBytes > PAYLOAD_INLINE_LIMIT_BYTES) {
      this.#o.logger.info(
        { record: record.id, sizeBytes: record.sizeBytes },
        'failure record sent without its payload (too big to carry); KafkaBatchInfo locates it',
      );
      return undefined;
    }
    return JSON.parse(buildKafkaEvent([record], this.#o.bootstrapServers).toString('utf8'));
  }
}
