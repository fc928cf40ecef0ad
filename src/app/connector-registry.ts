import type { ConnectorFactory } from '../engine/mapping-manager.ts';
import { SOURCE_PLUGINS, type ConnectorDeps } from './plugins.ts';

export type { ConnectorDeps } from './plugins.ts';

/** Builds one connector bundle per mapping with its source's plugin. */
export function connectorFactory(deps: ConnectorDeps): ConnectorFactory {
  return (mapping) => SOURCE_PLUGINS.get(mapping.type).build(mapping, deps);
}
