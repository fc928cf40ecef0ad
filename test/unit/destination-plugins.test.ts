/**
 * The core knows no broker's destination form: a plugin's destination part is what parses, checks,
 * resolves (API) and builds a broker target (#16). A demo plugin that no core file names proves it.
 */
import { describe, expect, it } from 'vitest';
import { parseDestination } from '../../src/config/destinations.ts';
import { SourcePlugins, type AnySourcePlugin } from '../../src/connectors/plugin.ts';
import { DestinationFactory } from '../../src/destinations/destination-factory.ts';
import { parseDestinationUri } from '../../src/destinations/destination-uri.ts';
import type { Destination } from '../../src/destinations/destination.ts';
import type { ConnectionRegistry } from '../../src/connections/connections.ts';
import { problemsOf, RESIZE, yaml } from '../fixtures/config/problems.ts';

const built: { destination: unknown; clients: unknown }[] = [];
const demo = {
  type: 'demo',
  destination: {
    form: 'demo://<box>',
    parse: (uri: string) => (uri.startsWith('demo://') ? { box: uri.slice(7) } : undefined),
    build(destination: unknown, clients: unknown): Destination {
      built.push({ destination, clients });
      return { description: 'demo', send: async () => undefined, stop: async () => undefined };
    },
  },
} as unknown as AnySourcePlugin;
const plugins = new SourcePlugins([demo]);

describe('broker destinations come from their plugin', () => {
  it('parses a form only the plugin knows, and still the function forms', () => {
    expect(parseDestination('demo://b1', plugins)).toEqual({ type: 'demo', box: 'b1' });
    expect(parseDestination('function:f', plugins)).toEqual({
      type: 'function',
      functionName: 'f',
    });
    expect(parseDestination('kafka://t', plugins)).toBeUndefined();
  });

  it('resolves an API destination with the connection of the plugin type', () => {
    const connections = { d1: { type: 'demo', name: 'd1' } };
    expect(
      parseDestinationUri('demo://b1', { connections, hasFunction: () => false, plugins }),
    ).toEqual({ type: 'demo', uri: 'demo://b1', connection: 'd1', box: 'b1' });
    expect(() =>
      parseDestinationUri('x://y', { connections, hasFunction: () => false, plugins }),
    ).toThrow("Invalid destination 'x://y': expected function:<name>, a Lambda ARN, demo://<box>");
  });

  it('builds the sender with the plugin, once per target, over the shared clients', () => {
    const clients = {} as ConnectionRegistry;
    const sink = { enqueue: () => Promise.reject(new Error('unused')) };
    const factory = new DestinationFactory(clients, sink, plugins);
    const target = { type: 'demo', connection: 'd1', box: 'b1' };
    const first = factory.get({ ...target, uri: 'demo://b1' });
    expect(factory.get({ ...target, uri: 'demo://b1?connection=d1' })).toBe(first);
    expect(built).toEqual([{ destination: { ...target, uri: 'demo://b1' }, clients }]);
  });

  it("lists the plugins' forms in the config file's message", () => {
    const problems = problemsOf(
      yaml(...RESIZE, '    async:', '      onFailure:', '        destination: sns://topic'),
    );
    expect(problems.map((p) => p.message)).toContainEqual(
      'must be an SQS queue URL (http(s)://…), kafka://<topic>, rabbitmq://<exchange>/<routingKey> or function:<name>, got "sns://topic"',
    );
  });
});
