/**
 * Destination strings. One `destination` key covers every target, as Lambda's `Destination` does:
 * `function:<name>` or a Lambda ARN names another function of the file (no `connection`); every
 * other form is a broker's, parsed by its plugin's destination part (`connectors/<type>/`: an SQS
 * queue URL, `kafka://<topic>`, `rabbitmq://<exchange>/<routingKey>` …) and sent through a
 * connection of that type, which in a mapping defaults to the mapping's own connection when that
 * has the right type.
 */
import type { PathSegment } from './config-error.ts';
import { showValue } from './config-error.ts';
import { didYouMean } from './suggest.ts';
import type { Problems, Refs } from './check-context.ts';
import { isObj, str } from './check-context.ts';
import { functionNameOfArn } from '../lambda/arn.ts';
import { listWithOr, type SourcePlugins } from '../connectors/plugin.ts';
import type { DestinationConfig, FunctionDestinationConfig } from './types.ts';

/** A function target, or a broker target: its plugin's `type` and the fields its part parsed. */
export type ParsedDestination =
  | { type: 'function'; functionName: string }
  | ({ type: string } & Readonly<Record<string, unknown>>);

const isFunctionTarget = (
  parsed: ParsedDestination,
): parsed is { type: 'function'; functionName: string } => parsed.type === 'function';

export const isFunctionDestination = (d: DestinationConfig): d is FunctionDestinationConfig =>
  d.type === 'function';

const FUNCTION_FORM = 'function:<name>';

function formsOf(plugins: SourcePlugins): string {
  const forms = plugins.all.flatMap((p) => (p.destination ? [p.destination.form] : []));
  return listWithOr([...forms, FUNCTION_FORM]);
}

/** The function a `function:<name>` or Lambda ARN destination names; undefined for other forms. */
export function functionOfDestination(uri: string): string | undefined {
  if (uri.startsWith('function:')) {
    const name = uri.slice('function:'.length);
    return /^[A-Za-z0-9_-]{1,64}$/.test(name) ? name : undefined;
  }
  return functionNameOfArn(uri);
}

/** Parses a destination string; `undefined` when it has none of the accepted forms. */
export function parseDestination(
  uri: string,
  plugins: SourcePlugins,
): ParsedDestination | undefined {
  if (uri.startsWith('function:') || functionNameOfArn(uri) !== undefined) {
    const functionName = functionOfDestination(uri);
    return functionName === undefined ? undefined : { type: 'function', functionName };
  }
  for (const plugin of plugins.all) {
    const target = plugin.destination?.parse(uri);
    if (target !== undefined) return { ...target, type: plugin.type };
  }
  return undefined;
}

export interface DestinationScope {
  /** The function the destination belongs to (async), to refuse self-loops. */
  ownerFunction?: string;
  /** The mapping's own connection (mappings), the default for a target of its type. */
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
  // (Only sources with retry controls take an onFailure destination, so only their types default.)
  if (scope.sourceConnection?.type === type) return scope.sourceConnection.name;
  return undefined;
}

function checkFunctionTarget(
  value: Record<string, unknown>,
  functionName: string,
  path: PathSegment[],
  refs: Refs,
  scope: DestinationScope,
  problems: Problems,
): void {
  if (value.connection !== undefined) {
    problems.add([...path, 'connection'], 'is not used by a function destination; remove it', {
      target: 'key',
    });
  }
  if (!refs.functions.has(functionName)) {
    problems.add(
      [...path, 'destination'],
      `names function ${JSON.stringify(functionName)}, which is not declared under functions${didYouMean(functionName, refs.functions)}`,
    );
  } else if (functionName === scope.ownerFunction) {
    problems.add(
      [...path, 'destination'],
      `names the function itself (${functionName}), which would invoke itself in a loop`,
    );
  }
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
  const parsed = parseDestination(uri, refs.plugins);
  if (parsed === undefined) {
    problems.add(
      [...path, 'destination'],
      `must be ${formsOf(refs.plugins)}, got ${showValue(uri, path)}`,
    );
    return;
  }
  if (isFunctionTarget(parsed)) {
    checkFunctionTarget(value, parsed.functionName, path, refs, scope, problems);
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
  plugins: SourcePlugins,
): DestinationConfig | undefined {
  if (!isObj(value)) return undefined;
  const uri = str(value.destination) as string;
  const parsed = parseDestination(uri, plugins) as ParsedDestination;
  if (isFunctionTarget(parsed)) return { uri, ...parsed };
  const connection = connectionFor(value, parsed.type, scope) as string;
  return { uri, connection, ...parsed };
}
