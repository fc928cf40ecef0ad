/**
 * The SQS source as a plugin (#16): config fragment and checks, compile step, runner defaults,
 * filter data key, EventSourceArn, API ⇄ options translation, rebuild inputs and the builder.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import type { ConnectionRegistry } from '../../src/connections/connections.ts';
import type { SqsConnectionConfig } from '../../src/connections/connection-configs.ts';
import type { PluginContext, SourcePlugin } from '../../src/connectors/plugin.ts';
import { sqsDestinationPart } from './sqs-destination.ts';
import { SluiceError } from '../../src/errors.ts';
import { parseSqsQueueArn, queueArnFromUrl } from '../../src/lambda/arn.ts';
import {
  checkSqsConnection,
  checkSqsMapping,
  compileSqsConnection,
  compileSqsMapping,
  SQS_CONNECTION_SCHEMA,
  SQS_RULES,
  SQS_SOURCE_SCHEMA,
  sqsOptions,
  type SqsMappingConfig,
} from './sqs-config.ts';
import { SqsConnector } from './sqs-connector.ts';
import { exponentialBackoff } from './sqs-visibility.ts';

export interface SqsPluginDeps {
  config: PluginContext;
  connections: ConnectionRegistry;
  logger: Logger;
}

/** The region the queue's ARN names: the connection's, else the engine's. */
function regionOf(mapping: SqsMappingConfig, ctx: PluginContext): string {
  const connection = ctx.connections[mapping.source.connection] as SqsConnectionConfig | undefined;
  return connection?.region ?? ctx.region;
}

/** Parses an SQS queue ARN into the queue URL on the given connection's endpoint. */
export function sqsQueueUrl(arn: string, endpoint: string | undefined): string {
  const parts = parseSqsQueueArn(arn);
  if (!parts) {
    throw new SluiceError(
      'INVALID_REQUEST',
      `EventSourceArn ${JSON.stringify(arn)} is not an SQS queue ARN`,
      { context: { field: 'EventSourceArn' } },
    );
  }
  const { region, accountId, queueName } = parts;
  const base = endpoint ? endpoint.replace(/\/+$/, '') : `https://sqs.${region}.amazonaws.com`;
  return `${base}/${accountId}/${queueName}`;
}

/** The SQS errors that mean "no such queue" (JSON and query protocol names). */
const NO_QUEUE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);

/**
 * Lambda's create-time answer for a queue that does not exist (it tries the queue first). Other
 * failures (an unreachable endpoint) do not refuse the mapping: it retries in the background.
 */
export async function missingQueueProblem(
  client: SQSClient,
  queueUrl: string,
): Promise<string | undefined> {
  try {
    await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    return undefined;
  } catch (err) {
    const e = err as { name?: string; Code?: string };
    if (!NO_QUEUE.has(e.name ?? '') && !NO_QUEUE.has(e.Code ?? '')) return undefined;
    return 'Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue does not exist or you do not have access to it.';
  }
}

export const sqsPlugin: SourcePlugin<SqsMappingConfig, SqsConnectionConfig, SqsPluginDeps> = {
  type: 'sqs',
  withArticle: 'an sqs',
  rules: SQS_RULES,
  connectionSchema: SQS_CONNECTION_SCHEMA,
  sourceSchema: SQS_SOURCE_SCHEMA,
  checkConnection: checkSqsConnection,
  checkMapping: checkSqsMapping,
  compileConnection: (name, options) => compileSqsConnection(name, options),
  compileMapping: (base, options, ctx) => compileSqsMapping(base, options, ctx.connection.name),
  connectionOptions: (c) => ({ type: 'sqs', ...(c.endpoint ? { endpoint: c.endpoint } : {}) }),
  toOptions: sqsOptions,

  runnerDefaults: (m) => ({
    ordered: m.source.fifo,
    // SQS long polls gather the window themselves.
    windowMode: 'caller',
    // The throughput tuner starts where Lambda runs the source (5 pollers), then measures its way.
    initialInvokeConcurrency: 5,
  }),
  filterData: { key: 'body', encoding: 'json-text' },
  connectorInputs: () => ({}),
  // Lambda: one mapping per function and queue.
  identity: (m) => JSON.stringify(['sqs', m.functionName, m.source.queueUrl]),
  duplicateSource: (m, ctx) =>
    `SQS arn (" ${queueArnFromUrl(m.source.queueUrl, regionOf(m, ctx))} ")`,
  checkSource: (m, { connections }) =>
    missingQueueProblem(connections.sqsClient(m.source.connection), m.source.queueUrl),
  build: (mapping, { config, connections, logger }) => ({
    connector: new SqsConnector({
      mapping,
      client: connections.sqsClient(mapping.source.connection),
      // Its own pool: long polls never make settles or other mappings wait for a socket.
      receiveClient: connections.sqsReceiveClient(mapping.source.connection),
      region: regionOf(mapping, config),
      logger: logger.child({ connector: 'sqs' }),
      ...(mapping.source.retryBackoff
        ? {
            failedVisibilityTimeoutMs: exponentialBackoff(
              mapping.source.retryBackoff.baseMs,
              mapping.source.retryBackoff.maximumMs,
            ),
          }
        : {}),
    }),
  }),

  // The ARN the records carry as `eventSourceARN`, in the region of the mapping's connection.
  eventSourceArn: (m, ctx) => queueArnFromUrl(m.source.queueUrl, regionOf(m, ctx)),
  toApiFields: () => ({}),
  requestHint: 'EventSourceArn (SQS queue ARN)',
  requestToSource: (req, pick) => {
    const arn = req.EventSourceArn;
    if (typeof arn !== 'string' || !arn.startsWith('arn:aws:sqs:')) return undefined;
    const conn = pick('sqs') as SqsConnectionConfig;
    return { connection: conn.name, queueUrl: sqsQueueUrl(arn, conn.endpoint) };
  },

  // — destination —
  destination: sqsDestinationPart,
};
