/** One message for a destination: an invocation record, a dead-lettered event, a failed batch. */
export interface DestinationMessage {
  body: string;
  /** SQS message attributes, Kafka headers, AMQP headers. */
  attributes?: Record<string, string>;
  /**
   * SQS `DataType` of attributes that are not `String` (e.g. a dead-letter `ErrorCode` is
   * `Number` on Lambda); targets without typed attributes ignore it.
   */
  attributeTypes?: Readonly<Record<string, 'String' | 'Number'>>;
  /**
   * Kafka partition key (bytes are sent unchanged: a Kafka record key is bytes, not text), SQS
   * FIFO group id (text; bytes are read as UTF-8).
   */
  key?: string | Buffer;
  /** Unique id of this message, for targets that deduplicate (SQS FIFO, the async queue). */
  id?: string;
}

/**
 * Where async results and failed records go. `send` resolves only once the target has accepted
 * the message (SQS answered, Kafka acks=all, AMQP publisher confirm), so a caller may then forget
 * it. No broker type leaks through this interface; each broker plugin builds its own (#16).
 */
export interface Destination {
  /** For logs: the destination as configured (never with credentials). */
  readonly description: string;
  send(message: DestinationMessage): Promise<void>;
  /** Releases what this destination holds (not the shared connection); idempotent. */
  stop(): Promise<void>;
}
