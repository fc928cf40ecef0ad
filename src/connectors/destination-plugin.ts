/**
 * A broker as a destination (#16): the part of a plugin that sends to the broker — a mapping's
 * onFailure, a function's async onSuccess/onFailure/deadLetter. The core parses a destination
 * string by asking each plugin's part in turn (the function destination, `function:<name>` or a
 * Lambda ARN, is the core's own: it is not a broker) and builds the sender the part returns.
 */
import type { Destination } from './destination.ts';

/** A compiled destination as the core sees it (`uri` is the string from the file). */
export interface DestinationBase {
  type: string;
  uri: string;
  /** A broker target's connection (whose shared client it sends through); none for a function. */
  connection?: string;
}

/** A compiled broker destination; its plugin narrows the target's fields (`topic`, `queueUrl` …). */
export type BrokerDestination = { type: string; uri: string; connection: string } & Readonly<
  Record<string, unknown>
>;

/** A connection of the part's type as a connection of the config (the plugin narrows it). */
export interface DestinationConnection {
  type: string;
  name: string;
}

/** Chooses the connection of the part's type: `?connection=<name>`, else the one `hint` prefers, else the only one. */
export type DestinationConnectionPicker = (
  hint?: (c: DestinationConnection) => boolean,
) => DestinationConnection;

/**
 * `T`: the target's fields besides `type`, `uri` and `connection`; `K`: the shared clients the
 * sender uses (the connection registry, as much of it as the plugin reads).
 */
export interface DestinationPart<T extends object = Record<string, unknown>, K = unknown> {
  /** How the file writes it, for the "must be …" message: `kafka://<topic>`. */
  readonly form: string;
  /** How the API may write it (default `[form]`), for its "expected …" message. */
  readonly apiForms?: readonly string[];
  /** The target a destination string names; undefined when the string is not of this form. */
  parse(uri: string): T | undefined;
  /**
   * The target of a `Destination` given through the API, which has no connection field; `pick`
   * chooses the connection. Default: `parse`, and the connection `pick()` chooses unhinted.
   */
  resolve?(
    uri: string,
    pick: DestinationConnectionPicker,
  ): { connection: string; target: T } | undefined;
  /** The sender (one per target: the core shares it between the destinations naming it). */
  build(
    destination: T & { type: string; uri: string; connection: string },
    clients: K,
  ): Destination;
}

/** A percent-encoded part of a destination string, decoded; undefined when malformed. */
export function decodeUriPart(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}
