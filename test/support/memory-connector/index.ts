export { MemoryConnector } from './memory-connector.ts';
export type { MemoryConnectorOptions, MemoryEventRecord } from './memory-connector.ts';
export { ManualClock, MemorySource } from './memory-source.ts';
export type {
  DeadLetter,
  MemoryHandle,
  MemoryMessage,
  MemoryMessageInput,
  MemoryOperation,
  MemorySourceCounters,
  MemorySourceOptions,
} from './memory-source.ts';
