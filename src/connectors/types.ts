/**
 * The connector seam: everything broker-specific lives behind `Connector`. No broker type crosses
 * this line — the engine sees `SourceRecord`s with an opaque `handle` and hands back outcomes.
 */

/** One record pulled from a source, in the form every later stage needs. */
export interface SourceRecord {
  /**
   * Identity for `batchItemFailures` matching and logs: SQS messageId; Kafka
   * `<topic>-<partition>@<offset>`; RabbitMQ messageId (or delivery tag).
   */
  readonly id: string;
  /**
   * Ordering lane (Kafka partition, SQS FIFO message group, RabbitMQ queue when ordered). Records
   * of one lane are never in two batches at once and keep their order. '' = unordered.
   */
  readonly lane: string;
  /** The record exactly as it appears in the Lambda event. */
  readonly event: Record<string, unknown>;
  /** Bytes `event` takes in the batch payload (JSON), for the 6 MB cap. */
  readonly sizeBytes: number;
  /** When the source received the record (epoch ms), for age limits and the batch-wait metric. */
  readonly timestampMs: number;
  /** Opaque to the engine: receipt handle, offset, delivery tag… */
  readonly handle: unknown;
}

/** Why a record left the normal path without a successful invoke. */
export type DropReason =
  'MaximumPayloadSizeExceeded' | 'RetriesExhausted' | 'RecordAgeExceeded' | 'Malformed';

/**
 * What the engine decided for one batch. Every record of the batch appears in exactly one list.
 */
export interface SettleOutcome {
  /** Handled: SQS delete, RabbitMQ ack, Kafka commit (contiguous). Includes filtered-out records. */
  succeeded: SourceRecord[];
  /**
   * Handed to a function that failed with them (error, timeout, batchItemFailures): back to the
   * source for another try — SQS: left invisible until the queue's visibility timeout expires
   * (Lambda's timing) unless a retry backoff is set; RabbitMQ nack+requeue; Kafka re-seek.
   */
  failed: SourceRecord[];
  /**
   * Never handed to a function (a poller's buffered records when it exits, records held back):
   * give them back at once, without counting a failure — SQS makes them visible now. Connectors
   * with no cheaper way treat them as `failed`. Optional; absent = none.
   */
  released?: SourceRecord[];
  /**
   * Given up on, with the reason; the connector sends them to its failure path (destination,
   * dead-letter exchange, DLQ) before acknowledging them — never silently away.
   */
  dropped: { record: SourceRecord; reason: DropReason; detail?: string }[];
}

export interface FetchRequest {
  /** Most records to return; the caller can invoke them soon (the function has room). */
  max: number;
  /** Longest to wait for the first record; 0 = return what is there. */
  waitMs: number;
  signal: AbortSignal;
  /** Lanes that already have a batch in flight: their records must not be returned now. */
  busyLanes?: ReadonlySet<string>;
}

/** A connector's view of its source's health, for mapping state and `/readyz`. */
export interface ConnectorHealth {
  ok: boolean;
  /** Lambda's `StateTransitionReason` style code, e.g. `EVENT_SOURCE_AUTHN_ERROR`. */
  reason?: string;
  /** Human text for `LastProcessingResult`; never contains credentials. */
  detail?: string;
}

export interface Connector {
  /** 'sqs' | 'kafka' | 'rabbitmq' | 'memory' … */
  readonly kind: string;
  /** Connects and checks the source (queue attributes, topic metadata…). Retries are the caller's. */
  start(): Promise<void>;
  /** Pulls up to `max` records (see FetchRequest). Resolves [] when nothing came within waitMs. */
  fetch(request: FetchRequest): Promise<SourceRecord[]>;
  /** The Lambda event for a batch (records in order), as JSON bytes. */
  buildEvent(records: readonly SourceRecord[]): Buffer;
  /** Applies an outcome at the source. Must not throw for records already settled by a crash. */
  settle(outcome: SettleOutcome): Promise<void>;
  /**
   * Called every `heartbeatIntervalMs` with the held records due for it — received and not
   * settled yet, in any stage: batching window, invoke gate, invoke — so the source keeps them
   * reserved (SQS visibility extension). Must skip records settled meanwhile. Optional.
   */
  heartbeat?(records: readonly SourceRecord[]): Promise<void>;
  readonly heartbeatIntervalMs?: number;
  /**
   * Most batches the source can have in flight at once, known after `start()` (Kafka: the
   * topic's partitions). Pollers above it would only ever poll empty; the runner caps them here.
   */
  readonly maxLanes?: number | undefined;
  /**
   * The source pushes into one buffer that every poller fetches from (RabbitMQ). Pollers then
   * gather their batches one after another: gathering in parallel would split the stream
   * between half-full batches, each waiting ~N× longer to fill, while the broker's prefetch is
   * spent on records sitting in them. Invokes still run in parallel. Default false (SQS pollers
   * each make their own receive calls; Kafka lanes are partitions).
   */
  readonly collectsOneAtATime?: boolean;
  /**
   * The mapping was disabled: stop pulling from the broker (a Kafka consumer stops fetching)
   * until `resume()`. Records already buffered stay and nothing is settled. Optional: sources
   * whose only pulls are `fetch` calls (SQS) need nothing, since disabled mappings do not fetch.
   */
  pause?(): void;
  /** The mapping was enabled again after `pause()`. */
  resume?(): void;
  /** Approximate records waiting at the source (backlog gauge), if the source can tell. */
  backlog?(): Promise<number | undefined>;
  health(): ConnectorHealth;
  /** Closes the client. In-flight records not settled return to the source on their own. */
  stop(): Promise<void>;
}

/** How a batch's records split after an invoke (pure decision, from Lambda's rules). */
export interface BatchVerdict {
  succeeded: SourceRecord[];
  failed: SourceRecord[];
  /** Why records failed, for logs and `LastProcessingResult`. */
  reason?: string;
  /** True when the function itself failed (error, timeout): scaling backs off on these. */
  functionError: boolean;
}

/**
 * What to do with records whose batch failed, beyond returning them to the source: Kafka's
 * retry limits, record age and bisection, RabbitMQ's bounded redelivery. Default: retry forever.
 */
export type FailurePolicy = (
  failed: SourceRecord[],
  verdict: BatchVerdict,
) => Promise<Pick<SettleOutcome, 'failed' | 'dropped'>> | Pick<SettleOutcome, 'failed' | 'dropped'>;

/** What a connector type provides for one mapping. */
export interface ConnectorBundle {
  connector: Connector;
  failurePolicy?: FailurePolicy;
  identify?: (itemIdentifier: unknown) => string | undefined;
  /** How long a fetch may wait for a first record (default 20 s). */
  idleWaitMs?: number;
}
