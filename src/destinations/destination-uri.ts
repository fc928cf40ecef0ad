import { parseDestination } from '../config/destinations.ts';
import type { DestinationConfig } from '../config/types.ts';
import type { BrokerConnectionConfig as ConnectionConfig } from '../connections/connection-configs.ts';
import type { ConnectionBase } from '../connectors/plugin.ts';
import { SluiceError } from '../errors.ts';
import { parseSqsQueueArn } from '../lambda/arn.ts';

export interface DestinationUriContext {
  connections: Readonly<Record<string, ConnectionBase>>;
  hasFunction: (name: string) => boolean;
}

/**
 * Resolves a `Destination` string given through the API (PutFunctionEventInvokeConfig) into a
 * destination. The forms are the config file's (`parseDestination`: SQS queue URL, `kafka://`,
 * `rabbitmq://`, `function:<name>` or a Lambda ARN), plus an SQS ARN
 * `arn:aws:sqs:<region>:<account>:<queue>`, which Lambda's API uses.
 * The API has no field for the connection, so a broker target uses the connection named by a
 * `?connection=<name>` suffix, else the SQS connection whose endpoint serves the URL (or whose
 * region matches the ARN), else the only connection of that type. Pure: throws `INVALID_REQUEST`
 * naming what is wrong.
 */
export function parseDestinationUri(uri: string, ctx: DestinationUriContext): DestinationConfig {
  const [base, query] = splitQuery(uri);
  const named = new URLSearchParams(query).get('connection') ?? undefined;

  const sqsArn = parseSqsQueueArn(base);
  if (sqsArn) {
    const { region, accountId, queueName } = sqsArn;
    const c = pick(ctx, 'sqs', uri, named, (s) => s.region === region);
    const origin = c.endpoint?.replace(/\/+$/, '') ?? `https://sqs.${region}.amazonaws.com`;
    return {
      type: 'sqs',
      uri,
      connection: c.name,
      queueUrl: `${origin}/${accountId}/${queueName}`,
    };
  }

  const parsed = parseDestination(base);
  switch (parsed?.type) {
    case 'function':
      if (!ctx.hasFunction(parsed.functionName)) {
        invalid(uri, `function ${parsed.functionName} does not exist`);
      }
      return { type: 'function', uri, functionName: parsed.functionName };
    case 'sqs': {
      const origin = new URL(parsed.queueUrl).origin;
      const c = pick(ctx, 'sqs', uri, named, (s) =>
        s.endpoint ? new URL(s.endpoint).origin === origin : false,
      );
      return { type: 'sqs', uri, connection: c.name, queueUrl: parsed.queueUrl };
    }
    case 'kafka':
      return {
        type: 'kafka',
        uri,
        connection: pick(ctx, 'kafka', uri, named).name,
        topic: parsed.topic,
      };
    case 'rabbitmq':
      return {
        type: 'rabbitmq',
        uri,
        connection: pick(ctx, 'rabbitmq', uri, named).name,
        exchange: parsed.exchange,
        routingKey: parsed.routingKey,
      };
    case undefined:
      return invalid(
        uri,
        'expected function:<name>, a Lambda or SQS ARN, an SQS queue URL, kafka://<topic> or rabbitmq://<exchange>/<routingKey>',
      );
  }
}

function pick<T extends ConnectionConfig['type']>(
  ctx: DestinationUriContext,
  type: T,
  uri: string,
  named: string | undefined,
  prefer?: (c: Extract<ConnectionConfig, { type: T }>) => boolean,
): Extract<ConnectionConfig, { type: T }> {
  const all = (Object.values(ctx.connections) as ConnectionConfig[]).filter(
    (c): c is Extract<ConnectionConfig, { type: T }> => c.type === type,
  );
  if (named !== undefined) {
    const c = all.find((x) => x.name === named);
    if (!c) invalid(uri, `no ${type} connection named '${named}'`);
    return c;
  }
  const preferred = prefer ? all.filter(prefer) : [];
  if (preferred.length === 1) return preferred[0] as Extract<ConnectionConfig, { type: T }>;
  if (all.length === 1) return all[0] as Extract<ConnectionConfig, { type: T }>;
  return invalid(
    uri,
    all.length === 0
      ? `no ${type} connection is configured`
      : `${all.length} ${type} connections are configured; name one with ?connection=<name>`,
  );
}

function splitQuery(uri: string): [string, string] {
  const i = uri.indexOf('?');
  return i < 0 ? [uri, ''] : [uri.slice(0, i), uri.slice(i + 1)];
}

function invalid(uri: string, why: string): never {
  throw new SluiceError('INVALID_REQUEST', `Invalid destination '${uri}': ${why}`, {
    context: { destination: uri },
  });
}
