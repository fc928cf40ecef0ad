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
  };
  /** Redeliveries before the message is dead-lettered; `Infinity` = until it expires (Lambda). */
  maximumRetryAttempts: number;
  onFailure: DestinationBase | undefined;
}

export const DEFAULT_VIRTUAL_HOST = '/';

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
  },
};

export const RABBITMQ_SOURCE_SCHEMA = {
  summary: 'RabbitMQ: queue, virtualHost.',
  required: 'queue',
  properties: {
    queue: str('RabbitMQ: queue name.', { minLength: 1, maxLength: 255 }),
    virtualHost: str('RabbitMQ: virtual host. Default /.', { default: DEFAULT_VIRTUAL_HOST }),
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
  return { type: 'rabbitmq', name, url: c.url as string };
}

export function compileRabbitMqMapping(
  base: MappingConfigBase,
  m: Record<string, unknown>,
  ctx: SourceCompileContext,
): RabbitMqMappingConfig {
  const s = m.source as { queue: string; virtualHost?: string };
  return {
    ...base,
    type: 'rabbitmq',
    source: {
      connection: ctx.connection.name,
      queue: s.queue,
      virtualHost: s.virtualHost ?? DEFAULT_VIRTUAL_HOST,
    },
    maximumRetryAttempts: ctx.retries(m.maximumRetryAttempts as number | undefined),
    onFailure: ctx.onFailure,
  };
}
