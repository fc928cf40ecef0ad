/**
 * Destination strings. One `destination` key covers every target, as Lambda's `Destination` does:
 *
 * | `destination`                          | target                      | `connection`              |
 * |----------------------------------------|-----------------------------|---------------------------|
 * | `http(s)://host/000000000000/queue`    | SQS queue URL               | an `sqs` connection       |
 * | `kafka://<topic>`                      | Kafka topic                 | a `kafka` connection *    |
 * | `rabbitmq://<exchange>/<routingKey>`   | RabbitMQ exchange + key     | a `rabbitmq` connection * |
 * | `function:<name>` or a Lambda ARN      | another function of the file| none                      |
 *
 * `*` in a mapping, defaults to the mapping's own connection when that has the right type. An empty
 * exchange (`rabbitmq:///<queue>`) is RabbitMQ's default exchange, which routes to the queue named
 * by the routing key. Both parts are percent-decoded.
 */
import type { PathSegment } from './config-error.ts';
import { showValue } from './config-error.ts';
import { didYouMean } from './suggest.ts';
import type { Problems, Refs } from './check-context.ts';
import { isObj, str } from './check-context.ts';
import { functionNameOfArn } from '../lambda/arn.ts';
import type { DestinationConfig } from './types.ts';

export type ParsedDestination =
  | { type: 'sqs'; queueUrl: string }
  | { type: 'kafka'; topic: string }
  | { type: 'rabbitmq'; exchange: string; routingKey: string }
  | { type: 'function'; functionName: string };

const FORMS =
  'an SQS queue URL (http(s)://…), kafka://<topic>, rabbitmq://<exchange>/<routingKey> or function:<name>';

function decode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** Parses a destination string; `undefined` when it has none of the accepted forms. */
export function parseDestination(uri: string): ParsedDestination | undefined {
  if (uri.startsWith('function:')) {
    const name = uri.slice('function:'.length);
    return /^[A-Za-z0-9_-]{1,64}$/.test(name)
      ? { type: 'function', functionName: name }
      : undefined;
  }
  const arnFunction = functionNameOfArn(uri);
  if (arnFunction !== undefined) return { type: 'function', functionName: arnFunction };
  if (uri.startsWith('kafka://')) {
    const topic = decode(uri.slice('kafka://'.length));
    return topic !== undefined && /^[A-Za-z0-9._-]{1,249}$/.test(topic)
      ? { type: 'kafka', topic }
      : undefined;
  }
  if (uri.startsWith('rabbitmq://')) {
    const rest = uri.slice('rabbitmq://'.length);
    const slash = rest.indexOf('/');
    if (slash < 0) return undefined;
    const exchange = decode(rest.slice(0, slash));
    const routingKey = decode(rest.slice(slash + 1));
    if (exchange === undefined || routingKey === undefined) return undefined;
    if (exchange === '' && routingKey === '') return undefined;
    return { type: 'rabbitmq', exchange, routingKey };
  }
  if (/^https?:\/\//.test(uri)) {
    try {
      const url = new URL(uri);
      return url.pathname.length > 1 ? { type: 'sqs', queueUrl: uri } : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

export interface DestinationScope {
  /** The function the destination belongs to (async), to refuse self-loops. */
  ownerFunction?: string;
  /** The mapping's own connection (mappings), the default for Kafka and RabbitMQ targets. */
  sourceConnection?: { name: string; type: string };
}

/** The connection a broker destination uses: explicit, else the mapping's own if the type fits. */
function connectionFor(
  value: Record<string, unknown>,
  type: string,
  scope: DestinationScope,
): string | undefined {
  const explicit = str(value.connection);
  if (explicit !== undefined) return explicit;
  if (type !== 'sqs' && scope.sourceConnection?.type === type) return scope.sourceConnection.name;
  return undefined;
}

/** Checks one `{ destination, connection }` map; problems are added to `problems`. */
export function checkDestination(
  value: unknown,
  path: PathSegment[],
  refs: Refs,
  scope: DestinationScope,
  problems: Problems,
): void {
  if (!isObj(value)) return;
  const uri = str(value.destination);
  if (uri === undefined) return;
  const parsed = parseDestination(uri);
  if (parsed === undefined) {
    problems.add([...path, 'destination'], `must be ${FORMS}, got ${showValue(uri, path)}`);
    return;
  }
  if (parsed.type === 'function') {
    if (value.connection !== undefined) {
      problems.add([...path, 'connection'], 'is not used by a function destination; remove it', {
        target: 'key',
      });
    }
    if (!refs.functions.has(parsed.functionName)) {
      problems.add(
        [...path, 'destination'],
        `names function ${JSON.stringify(parsed.functionName)}, which is not declared under functions${didYouMean(parsed.functionName, refs.functions)}`,
      );
    } else if (parsed.functionName === scope.ownerFunction) {
      problems.add(
        [...path, 'destination'],
        `names the function itself (${parsed.functionName}), which would invoke itself in a loop`,
      );
    }
    return;
  }
  const connection = connectionFor(value, parsed.type, scope);
  if (connection === undefined) {
    problems.add(
      path,
      `needs a connection for ${showValue(uri, path)}: add connection: <name of a connection of type ${parsed.type}>`,
      { target: 'key' },
    );
    return;
  }
  const type = refs.connections.get(connection);
  const at = value.connection === undefined ? path : [...path, 'connection'];
  if (type === undefined) {
    problems.add(
      at,
      `names connection ${JSON.stringify(connection)}, which is not declared under connections${didYouMean(connection, refs.connections.keys())}`,
    );
  } else if (type !== parsed.type) {
    problems.add(
      at,
      `names connection ${JSON.stringify(connection)} of type ${type}, but ${showValue(uri, path)} needs a connection of type ${parsed.type}`,
    );
  }
}

/** Builds the compiled destination (input already checked). */
export function compileDestination(
  value: unknown,
  scope: DestinationScope,
): DestinationConfig | undefined {
  if (!isObj(value)) return undefined;
  const uri = str(value.destination) as string;
  const parsed = parseDestination(uri) as ParsedDestination;
  if (parsed.type === 'function') return { uri, ...parsed };
  const connection = connectionFor(value, parsed.type, scope) as string;
  return { uri, connection, ...parsed };
}
