import type { StateStore } from '../store/state-store.ts';
import type { MappingRecord, MappingRepository } from '../engine/mapping-manager.ts';

const NAMESPACE = 'event-source-mappings';

/** API-created mappings persisted in the store's key-value table, one JSON row each. */
export function storeMappingRepository(store: StateStore): MappingRepository {
  return {
    async list() {
      const rows = await store.kvList(NAMESPACE);
      return [...rows.values()].map((text) => JSON.parse(text) as MappingRecord);
    },
    put: (record) => store.kvPut(NAMESPACE, record.uuid, JSON.stringify(record)),
    async delete(uuid) {
      await store.kvDelete(NAMESPACE, uuid);
    },
  };
}
