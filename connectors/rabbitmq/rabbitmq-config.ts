/**
 * The RabbitMQ source's part of the config: its connection and `source:` keys (JSON Schema
 * fragments), their checks and the compile step.
 */
import type { RabbitMqConnectionConfig } from '../../src/connections/connection-configs.ts';
import type {
  DestinationBase,
  MappingConfigBase,
  SourceCheckContext,
  SourceCompileContext,
  SourceRules,
} from '../../src/connectors/plugin.ts';
import { str, strValue } from '../../src/connectors/schema-kit.ts';

export interface RabbitMqMappingConfig extends MappingConfigBase {
  type: 'rabbitmq';
  source: {
    connection: string;
    queue: string;
    /** Default `/`. */
    virtualHost: string;
    /** The broker ARN reported as `EventSourceArn` (an API caller's, kept as sent). */
    brokerArn?: string;
    /** The `BASIC_AUTH` secret ARN reported in `SourceAccessConfigurations` (as sent). */
    secretArn?: string;
  };
  /** Redeliveries before the message is dead-lettered; `Infinity` = until it expires (Lambda). */
  maximumRetryAttempts: number;
  onFailure: DestinationBase | undefined;
}

export const DEFAULT_VIRTUAL_HOST = '/';

const SECRET_ARN_PATTERN = '^arn:aws[a-z-]*:secretsmanager:';
const BROKER_ARN_PATTERN = '^arn:aws[a-z-]*:mq:';

export const RABBITMQ_RULES: SourceRules = {
  defaultBatchSize: 100,
  defaultWindowS: 0.5,
  minMaximumConcurrency: 1,
  // AWS runs one invoke at a time per RabbitMQ mapping; 1 also keeps queue order.
  defaultMaximumConcurrency: 1,
  retryControls: true,
  recordAgeAndBisect: false,
  // One consumer per mapping: concurrency is the knob (scalingConfig.maximumConcurrency).
  minMinimumPollers: undefined,
  unsupportedKeyReason: 'it applies to Kafka sources only',
};

export const RABBITMQ_CONNECTION_SCHEMA = {
  description: 'A RabbitMQ connection.',
  required: ['url'],
  properties: {
    url: str('AMQP URL, amqp://user:password@host:5672', {
      pattern: '^amqps?://',
      'x-expected': 'an amqp:// or amqps:// URL',
    }),
    secretArn: str(
      "Secrets Manager ARN that API callers name as SourceAccessConfigurations BASIC_AUTH to select this connection (a label; the credentials are the URL's).",
      { pattern: SECRET_ARN_PATTERN, 'x-expected': 'an arn:aws:secretsmanager: ARN' },
    ),
  },
};

export const RABBITMQ_SOURCE_SCHEMA = {
  summary: 'RabbitMQ: queue, virtualHost.',
  required: 'queue',
  properties: {
    queue: str('RabbitMQ: queue name.', { minLength: 1, maxLength: 255 }),
    virtualHost: str('RabbitMQ: virtual host. Default /.', { default: DEFAULT_VIRTUAL_HOST }),
    brokerArn: str(
      'RabbitMQ: the broker ARN reported as EventSourceArn (default: one named after the connection).',
      {
        pattern: BROKER_ARN_PATTERN,
        'x-expected': 'an arn:aws:mq: broker ARN',
      },
    ),
    secretArn: str('RabbitMQ: the BASIC_AUTH secret ARN reported in SourceAccessConfigurations.', {
      pattern: SECRET_ARN_PATTERN,
      'x-expected': 'an arn:aws:secretsmanager: ARN',
    }),
  },
};

export function checkRabbitMqConnection(
  name: string,
  c: Record<string, unknown>,
  ctx: SourceCheckContext,
): void {
  const text = strValue(c.url);
  if (text === undefined) return;
  const path = ['connections', name, 'url'];
  if (!URL.canParse(text)) ctx.problems.add(path, `must be a URL, got ${ctx.show(text, path)}`);
}

export function compileRabbitMqConnection(
  name: string,
  c: Record<string, unknown>,
): RabbitMqConnectionConfig {
  return {
    type: 'rabbitmq',
    name,
    url: c.url as string,
    ...(typeof c.secretArn === 'string' ? { secretArn: c.secretArn } : {}),
  };
}

export function compileRabbitMqMapping(
  base: MappingConfigBase,
  m: Record<string, unknown>,
  ctx: SourceCompileContext,
): RabbitMqMappingConfig {
  const s = m.source as {
    queue: string;
    virtualHost?: string;
    brokerArn?: string;
    secretArn?: string;
  };
  return {
    ...base,
    type: 'rabbitmq',
    source: {
      connection: ctx.connection.name,
      queue: s.queue,
      virtualHost: s.virtualHost ?? DEFAULT_VIRTUAL_HOST,
      ...(s.brokerArn === undefined ? {} : { brokerArn: s.brokerArn }),
      ...(s.secretArn === undefined ? {} : { secretArn: s.secretArn }),
    },
    maximumRetryAttempts: ctx.retries(m.maximumRetryAttempts as number | undefined),
    onFailure: ctx.onFailure,
  };
}
