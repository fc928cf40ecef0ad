/**
 * The RabbitMQ source as a plugin (#16): config fragment and checks, compile step, runner
 * defaults, filter data key, EventSourceArn, API ⇄ options translation, rebuild inputs and the
 * builder.
 */
import type { RabbitMqConnectionConfig } from '../../src/connections/connection-configs.ts';
import { lambdaLimit, onFailureOptions, type SourcePlugin } from '../../src/connectors/plugin.ts';
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

type Req = { Queues?: string[]; SourceAccessConfigurations?: { Type?: string; URI?: string }[] };

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

  eventSourceArn: (m, ctx) => brokerArn(ctx.region, ctx.accountId, m.source.connection),
  toApiFields: (m) => ({
    Queues: [m.source.queue],
    SourceAccessConfigurations: [{ Type: 'VIRTUAL_HOST', URI: m.source.virtualHost }],
    MaximumRetryAttempts: lambdaLimit(m.maximumRetryAttempts),
    ...(m.onFailure ? { DestinationConfig: { OnFailure: { Destination: m.onFailure.uri } } } : {}),
  }),
  requestHint: 'Queues (RabbitMQ)',
  requestToSource: (request, pick) => {
    const req = request as Req;
    if (!req.Queues?.length) return undefined;
    const conn = pick('rabbitmq');
    const vhost = req.SourceAccessConfigurations?.find((s) => s.Type === 'VIRTUAL_HOST')?.URI;
    return {
      connection: conn.name,
      queue: req.Queues[0],
      ...(vhost ? { virtualHost: vhost } : {}),
    };
  },

  // — destination —
  destination: rabbitMqDestinationPart,
};
