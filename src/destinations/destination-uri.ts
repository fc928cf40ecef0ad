import { functionOfDestination } from '../config/destinations.ts';
import type { DestinationConfig } from '../config/types.ts';
import type { DestinationConnection, DestinationPart } from '../connectors/destination-plugin.ts';
import { listWithOr, type ConnectionBase, type SourcePlugins } from '../connectors/plugin.ts';
import { SluiceError } from '../errors.ts';

export interface DestinationUriContext {
  connections: Readonly<Record<string, ConnectionBase>>;
  hasFunction: (name: string) => boolean;
  /** The source types of this build: each broker's destination part parses its forms. */
  plugins: SourcePlugins;
}

/**
 * Resolves a `Destination` string given through the API (PutFunctionEventInvokeConfig) into a
 * destination. The forms are the config file's (`parseDestination`: `function:<name>`, a Lambda
 * ARN, or a broker's form), plus those a broker's part accepts only here (an SQS ARN, which
 * Lambda's API uses). The API has no field for the connection, so a broker target uses the
 * connection named by a `?connection=<name>` suffix, else the one its part prefers (e.g. the SQS
 * connection whose endpoint serves the URL), else the only connection of that type. Pure: throws
 * `INVALID_REQUEST` naming what is wrong.
 */
export function parseDestinationUri(uri: string, ctx: DestinationUriContext): DestinationConfig {
  const [base, query] = splitQuery(uri);
  const named = new URLSearchParams(query).get('connection') ?? undefined;

  const functionName = functionOfDestination(base);
  if (functionName !== undefined) {
    if (!ctx.hasFunction(functionName)) invalid(uri, `function ${functionName} does not exist`);
    return { type: 'function', uri, functionName };
  }
  const forms: string[] = [];
  for (const { type, destination: part } of ctx.plugins.all) {
    if (!part) continue;
    const resolved = resolveWith(part, base, (hint) => pick(ctx, type, uri, named, hint));
    if (resolved) return { ...resolved.target, type, uri, connection: resolved.connection };
    forms.push(...(part.apiForms ?? [part.form]));
  }
  return invalid(uri, `expected function:<name>, a Lambda ARN, ${listWithOr(forms)}`);
}

function resolveWith(
  part: DestinationPart,
  uri: string,
  pickConnection: (hint?: (c: DestinationConnection) => boolean) => DestinationConnection,
): { connection: string; target: Record<string, unknown> } | undefined {
  if (part.resolve) return part.resolve(uri, pickConnection);
  const target = part.parse(uri);
  return target === undefined ? undefined : { connection: pickConnection().name, target };
}

function pick(
  ctx: DestinationUriContext,
  type: string,
  uri: string,
  named: string | undefined,
  prefer?: (c: ConnectionBase) => boolean,
): ConnectionBase {
  const all = Object.values(ctx.connections).filter((c) => c.type === type);
  if (named !== undefined) {
    const c = all.find((x) => x.name === named);
    if (!c) invalid(uri, `no ${type} connection named '${named}'`);
    return c;
  }
  const preferred = prefer ? all.filter(prefer) : [];
  if (preferred.length === 1) return preferred[0] as ConnectionBase;
  if (all.length === 1) return all[0] as ConnectionBase;
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
