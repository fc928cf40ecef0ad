/**
 * The RabbitMQ source as a plugin (#16): config fragment and checks, compile step, runner
 * defaults, filter data key, EventSourceArn, API ⇄ options translation, rebuild inputs and the
 * builder.
 */
import type { RabbitMqConnectionConfig } from '../../src/connections/connection-configs.ts';
import {
  lambdaLimit,
  onFailureOptions,
  type ConnectionPicker,
  type SourcePlugin,
} from '../../src/connectors/plugin.ts';
import { SluiceError } from '../../src/errors.ts';
import { rabbitMqDestinationPart } from './rabbitmq-destination.ts';
import { brokerArn } from '../../src/lambda/arn.ts';
import { rabbitMqBundle, type RabbitMqBundleDeps } from './rabbitmq-bundle.ts';
import {
  checkRabbitMqConnection,
  compileRabbitMqConnection,
  compileRabbitMqMapping,
  RABBITMQ_CONNECTION_SCHEMA,
  RABBITMQ_RULES,
  RABBITMQ_SOURCE_SCHEMA,
  type RabbitMqMappingConfig,
} from './rabbitmq-config.ts';

type Req = {
  EventSourceArn?: string;
  Queues?: string[];
  SourceAccessConfigurations?: { Type?: string; URI?: string }[];
};

const BROKER_ARN = /^arn:aws[a-z-]*:mq:[^:]*:[^:]*:broker:([^:]+)/;

function invalid(message: string, field: string): SluiceError {
  return new SluiceError('INVALID_REQUEST', message, { context: { field } });
}

/**
 * A create request's RabbitMQ source. The broker is always a declared connection (never a URL
 * from the request): the one whose `secretArn` is the request's BASIC_AUTH secret, else the one
 * the broker ARN names, else the only one. The ARN and the secret are kept to report as sent.
 */
function requestToRabbitMqSource(
  req: Req,
  pick: ConnectionPicker,
): Record<string, unknown> | undefined {
  if (!req.Queues?.length) return undefined;
  const arn = req.EventSourceArn;
  const broker = arn === undefined ? undefined : BROKER_ARN.exec(arn)?.[1];
  if (arn !== undefined && broker === undefined) {
    throw invalid(
      `EventSourceArn ${JSON.stringify(arn)} is not an Amazon MQ broker ARN (arn:aws:mq:<region>:<account>:broker:<name>:<id>); sluice reaches only the brokers declared under connections:`,
      'EventSourceArn',
    );
  }
  const access = req.SourceAccessConfigurations ?? [];
  const vhost = access.find((s) => s.Type === 'VIRTUAL_HOST')?.URI;
  const secret = access.find((s) => s.Type === 'BASIC_AUTH')?.URI;
  const what = `SourceAccessConfigurations BASIC_AUTH secret ${JSON.stringify(secret)}`;
  const conn = (
    secret !== undefined
      ? pick('rabbitmq', (c) => (c as RabbitMqConnectionConfig).secretArn === secret, {
          what,
          field: 'SourceAccessConfigurations',
        })
      : pick('rabbitmq', broker === undefined ? undefined : (c) => c.name === broker)
  ) as RabbitMqConnectionConfig;
  if (secret !== undefined && conn.secretArn !== secret) {
    throw invalid(
      `${what} is not the secretArn of connection ${conn.name}`,
      'SourceAccessConfigurations',
    );
  }
  return {
    connection: conn.name,
    queue: req.Queues[0],
    ...(vhost ? { virtualHost: vhost } : {}),
    ...(arn === undefined ? {} : { brokerArn: arn }),
    ...(secret === undefined ? {} : { secretArn: secret }),
  };
}

export const rabbitMqPlugin: SourcePlugin<
  RabbitMqMappingConfig,
  RabbitMqConnectionConfig,
  RabbitMqBundleDeps
> = {
  type: 'rabbitmq',
  withArticle: 'a rabbitmq',
  rules: RABBITMQ_RULES,
  connectionSchema: RABBITMQ_CONNECTION_SCHEMA,
  sourceSchema: RABBITMQ_SOURCE_SCHEMA,
  checkConnection: checkRabbitMqConnection,
  compileConnection: (name, options) => compileRabbitMqConnection(name, options),
  compileMapping: compileRabbitMqMapping,
  // The URL is not needed to compile a mapping again; a placeholder passes the schema.
  connectionOptions: () => ({ type: 'rabbitmq', url: 'amqp://127.0.0.1' }),
  toOptions: (m) => ({
    source: {
      connection: m.source.connection,
      queue: m.source.queue,
      virtualHost: m.source.virtualHost,
      ...(m.source.brokerArn === undefined ? {} : { brokerArn: m.source.brokerArn }),
      ...(m.source.secretArn === undefined ? {} : { secretArn: m.source.secretArn }),
    },
    ...(Number.isFinite(m.maximumRetryAttempts)
      ? { maximumRetryAttempts: m.maximumRetryAttempts }
      : {}),
    ...onFailureOptions(m.onFailure),
  }),

  runnerDefaults: (m) => ({
    // One queue is one lane: ordered while one batch runs at a time (Lambda's default).
    ordered: (m.maximumConcurrency ?? 1) === 1,
    windowMode: 'first-record',
    initialInvokeConcurrency: 1,
  }),
  filterData: { key: 'data', encoding: 'base64-json' },
  connectorInputs: (m) => ({
    onFailure: m.onFailure,
    maximumRetryAttempts: m.maximumRetryAttempts,
    functionName: m.functionName,
    batchSize: m.batchSize,
  }),
  identity: (m) =>
    JSON.stringify([
      'rabbitmq',
      m.functionName,
      m.source.connection,
      m.source.virtualHost,
      m.source.queue,
    ]),
  build: (mapping, deps) =>
    rabbitMqBundle(mapping, { ...deps, logger: deps.logger.child({ connector: 'rabbitmq' }) }),

  eventSourceArn: (m, ctx) =>
    m.source.brokerArn ?? brokerArn(ctx.region, ctx.accountId, m.source.connection),
  toApiFields: (m) => ({
    Queues: [m.source.queue],
    SourceAccessConfigurations: [
      ...(m.source.secretArn === undefined
        ? []
        : [{ Type: 'BASIC_AUTH', URI: m.source.secretArn }]),
      { Type: 'VIRTUAL_HOST', URI: m.source.virtualHost },
    ],
    MaximumRetryAttempts: lambdaLimit(m.maximumRetryAttempts),
    ...(m.onFailure ? { DestinationConfig: { OnFailure: { Destination: m.onFailure.uri } } } : {}),
  }),
  requestHint: 'Queues (RabbitMQ)',
  requestToSource: (request, pick) => requestToRabbitMqSource(request as Req, pick),

  // — destination —
  destination: rabbitMqDestinationPart,
};
