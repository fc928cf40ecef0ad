/** This build's source plugins, for tests that exercise one source type's piece directly. */
import { SOURCE_PLUGINS } from '../../src/app/plugins.ts';
import type { FilterData } from '../../src/connectors/plugin.ts';

export { SOURCE_PLUGINS };

/** The filter data field of a source type (`sqs` → body as JSON text …). */
export function filterDataOf(type: string): FilterData {
  return SOURCE_PLUGINS.get(type).filterData;
}
