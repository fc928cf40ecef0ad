import { SluiceError } from '../errors.ts';
import type { ConnectorFactory, MappingManagerOptions } from '../engine/mapping-manager.ts';
import { SOURCE_PLUGINS, type ConnectorDeps } from './plugins.ts';

export type { ConnectorDeps } from './plugins.ts';

/** Builds one connector bundle per mapping with its source's plugin. */
export function connectorFactory(deps: ConnectorDeps): ConnectorFactory {
  return (mapping) => SOURCE_PLUGINS.get(mapping.type).build(mapping, deps);
}

/** Checks an API-created mapping's source with its plugin (`checkSource`): `INVALID_REQUEST`. */
export function sourceChecker(
  deps: ConnectorDeps,
): NonNullable<MappingManagerOptions['checkSource']> {
  return async (mapping) => {
    const problem = await SOURCE_PLUGINS.get(mapping.type).checkSource?.(mapping, deps);
    if (problem !== undefined)
      throw new SluiceError('INVALID_REQUEST', problem, { context: { field: 'EventSourceArn' } });
  };
}
