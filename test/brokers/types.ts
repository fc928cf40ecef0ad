/**
 * The broker launcher's seam. Each real broker the tests, the demo and the benchmarks need
 * (Kafka, ElasticMQ for SQS, RabbitMQ, MinIO) is one `BrokerLauncher`; `launcher.ts` runs them.
 */
export type BrokerName = 'kafka' | 'sqs' | 'rabbitmq' | 'minio';

/** How to reach a started broker. Only the fields of that broker are set. */
export interface BrokerEndpoint {
  name: BrokerName;
  /** Kafka: bootstrap servers, e.g. `['127.0.0.1:19092']`. */
  kafkaBrokers?: string[];
  /** SQS / S3: the HTTP endpoint, e.g. `http://127.0.0.1:19324`. */
  url?: string;
  /** RabbitMQ: the AMQP URL with credentials; management API base URL in `managementUrl`. */
  amqpUrl?: string;
  managementUrl?: string;
  /** S3 (MinIO): region and credentials. */
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** True when the launcher started it in this process's run (so it should stop it). */
  startedHere: boolean;
  /** Where its log is (empty for external brokers). */
  logFile?: string;
  /** Version of the broker, for reports. */
  version?: string;
  /** 'local' (launched from cache), 'external' (env var), 'container' (testcontainers). */
  mode: 'local' | 'external' | 'container';
}

export interface BrokerLauncher {
  readonly name: BrokerName;
  /** Downloads/builds into the cache (idempotent; fast when cached). */
  install(): Promise<void>;
  /** Starts (or reuses a running) broker and waits until it answers. */
  start(): Promise<BrokerEndpoint>;
  /** Stops a broker this launcher started (by pid file); no-op when not running. */
  stop(): Promise<void>;
  /** Returns the endpoint if it answers now, else undefined. Never starts anything. */
  status(): Promise<BrokerEndpoint | undefined>;
}
