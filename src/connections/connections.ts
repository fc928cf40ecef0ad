import { readFileSync } from 'node:fs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { connect, type ChannelModel } from 'amqplib';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { ConnectionBase } from '../connectors/plugin.ts';
import type {
  BrokerConnectionConfig as ConnectionConfig,
  KafkaConnectionConfig,
} from './connection-configs.ts';
import { SluiceError } from '../errors.ts';
import { kafkajsLogLevel } from './kafkajs-log.ts';

/**
 * The named broker connections of the config, one client each, created on first use and closed
 * on `stop()`. Destinations and connectors share them. Credentials are handed to the clients and
 * never logged: log lines name only the connection.
 */
export class ConnectionRegistry {
  readonly #configs: Readonly<Record<string, ConnectionBase>>;
  readonly #logger: Logger;
  readonly #sqs = new Map<string, SQSClient>();
  readonly #kafka = new Map<string, Kafka>();
  readonly #amqp = new Map<string, Promise<ChannelModel>>();
  #stopping: Promise<void> | undefined;

  constructor(connections: Readonly<Record<string, ConnectionBase>>, logger: Logger) {
    this.#configs = connections;
    this.#logger = logger.child({ component: 'connections' });
  }

  names(): string[] {
    return Object.keys(this.#configs);
  }

  config(name: string): ConnectionBase | undefined {
    return this.#configs[name];
  }

  /** The connection's shared SQS client (deletes, visibility changes, attributes, destinations). */
  sqsClient(name: string): SQSClient {
    this.#checkOpen();
    let client = this.#sqs.get(name);
    if (!client) {
      client = new SQSClient(this.#sqsOptions(name));
      this.#sqs.set(name, client);
      this.#logger.debug({ connection: name }, 'SQS client created');
    }
    return client;
  }

  /**
   * A new SQS client of `name` for one connector's receives, with its own keep-alive pool and no
   * socket limit: long polls hold a socket each for up to 20 s, so in the shared pool (the SDK's
   * default is 50 sockets) a few idle mappings would queue every delete, visibility change and
   * other mapping's poll behind them. The caller owns it and destroys it.
   */
  sqsReceiveClient(name: string): SQSClient {
    this.#checkOpen();
    return new SQSClient({
      ...this.#sqsOptions(name),
      requestHandler: {
        httpAgent: { keepAlive: true, maxSockets: Infinity },
        httpsAgent: { keepAlive: true, maxSockets: Infinity },
      },
    });
  }

  #sqsOptions(name: string) {
    const c = this.#typed(name, 'sqs');
    return {
      ...(c.endpoint ? { endpoint: c.endpoint } : {}),
      ...(c.region ? { region: c.region } : {}),
      ...(c.credentials ? { credentials: c.credentials } : {}),
    };
  }

  kafka(name: string): Kafka {
    this.#checkOpen();
    let client = this.#kafka.get(name);
    if (!client) {
      client = new Kafka(kafkaConfig(this.#typed(name, 'kafka'), this.#logger));
      this.#kafka.set(name, client);
      this.#logger.debug({ connection: name }, 'Kafka client created');
    }
    return client;
  }

  /**
   * The AMQP connection of `name`, connecting on first use. A connection that closes or fails is
   * forgotten, so the next call connects again.
   */
  amqpConnection(name: string): Promise<ChannelModel> {
    this.#checkOpen();
    let pending = this.#amqp.get(name);
    if (!pending) {
      const c = this.#typed(name, 'rabbitmq');
      pending = connect(c.url).then((conn) => {
        const forget = () => {
          if (this.#amqp.get(name) === pending) this.#amqp.delete(name);
        };
        conn.on('close', forget);
        conn.on('error', (err: Error) => {
          this.#logger.warn({ connection: name, error: err.message }, 'AMQP connection error');
          forget();
        });
        this.#logger.debug({ connection: name }, 'AMQP connection opened');
        return conn;
      });
      pending.catch(() => {
        if (this.#amqp.get(name) === pending) this.#amqp.delete(name);
      });
      this.#amqp.set(name, pending);
    }
    return pending;
  }

  /** Closes every client; each even if an earlier one failed. Idempotent and awaitable. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      for (const client of this.#sqs.values()) client.destroy();
      this.#sqs.clear();
      // kafkajs has no client-level close: producers and consumers disconnect themselves.
      this.#kafka.clear();
      const amqp = [...this.#amqp.values()];
      this.#amqp.clear();
      await Promise.allSettled(
        amqp.map(async (p) => {
          const conn = await p;
          await conn.close();
        }),
      );
    })();
    return this.#stopping;
  }

  #checkOpen(): void {
    if (this.#stopping)
      throw new SluiceError('SHUTDOWN', 'connections are closed', { canRetry: true });
  }

  #typed<T extends ConnectionConfig['type']>(
    name: string,
    type: T,
  ): Extract<ConnectionConfig, { type: T }> {
    const c = this.#configs[name];
    if (!c) {
      throw new SluiceError('CONFIG_INVALID', `no connection named '${name}'`, {
        context: { connection: name },
      });
    }
    if (c.type !== type) {
      throw new SluiceError(
        'CONFIG_INVALID',
        `connection '${name}' is of type ${c.type}, not ${type}`,
        { context: { connection: name } },
      );
    }
    return c as Extract<ConnectionConfig, { type: T }>;
  }
}

/**
 * kafkajs options of a connection; kafkajs logs go through the engine's logger (routine rebalance
 * errors below warn, see `kafkajs-log.ts`).
 */
export function kafkaConfig(c: KafkaConnectionConfig, logger: Logger): KafkaConfig {
  const log = logger.child({ connection: c.name, client: 'kafkajs' });
  return {
    clientId: c.clientId,
    brokers: c.bootstrapServers,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        log[kafkajsLogLevel(level, entry)](rest, message);
      },
    ...(c.sasl ? { sasl: saslOptions(c.sasl) } : {}),
    ...(c.ssl
      ? {
          ssl: {
            rejectUnauthorized: c.ssl.rejectUnauthorized,
            ...(c.ssl.caFile ? { ca: [readFileSync(c.ssl.caFile, 'utf8')] } : {}),
            ...(c.ssl.certFile ? { cert: readFileSync(c.ssl.certFile, 'utf8') } : {}),
            ...(c.ssl.keyFile ? { key: readFileSync(c.ssl.keyFile, 'utf8') } : {}),
          },
        }
      : {}),
  };
}

function saslOptions(sasl: NonNullable<KafkaConnectionConfig['sasl']>): SASLOptions {
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username: sasl.username, password: sasl.password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password };
  }
}
