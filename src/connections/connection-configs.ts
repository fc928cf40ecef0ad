/**
 * The compiled broker connections the shared clients open. Each source plugin compiles its own
 * (`connectors/<name>/`); they live here, beside the clients, because destinations use them too.
 */

export interface SqsConnectionConfig {
  type: 'sqs';
  name: string;
  /** Undefined = AWS's endpoint for the region. */
  endpoint: string | undefined;
  /** Undefined = the AWS SDK's region chain. */
  region: string | undefined;
  /** Undefined = the AWS SDK's default credential chain. Secret: never log. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

export interface KafkaConnectionConfig {
  type: 'kafka';
  name: string;
  /** `host:port` list, 1–10 entries. */
  bootstrapServers: string[];
  /** Default `sluice`. */
  clientId: string;
  /** Undefined = no SASL. The password is secret: never log. */
  sasl:
    | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
    | undefined;
  /** Undefined = plaintext. File paths are absolute (read by the connector). */
  ssl: KafkaTlsConfig | undefined;
}

export interface KafkaTlsConfig {
  /** PEM CA bundle; undefined = the system CAs. */
  caFile: string | undefined;
  /** PEM client certificate (mTLS). */
  certFile: string | undefined;
  /** PEM client key (mTLS). */
  keyFile: string | undefined;
  /** Default true. */
  rejectUnauthorized: boolean;
}

export interface RabbitMqConnectionConfig {
  type: 'rabbitmq';
  name: string;
  /** AMQP URL; may hold credentials: never log it unredacted. */
  url: string;
  /**
   * The Secrets Manager ARN API callers name in `SourceAccessConfigurations` `BASIC_AUTH` to select
   * this connection (a label: the credentials are the URL's).
   */
  secretArn?: string;
}

export type BrokerConnectionConfig =
  SqsConnectionConfig | KafkaConnectionConfig | RabbitMqConnectionConfig;
