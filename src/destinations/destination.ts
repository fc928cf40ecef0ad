/** The destination seam lives with the connector seam (plugins implement it); re-exported here for the core. */
export type { Destination, DestinationMessage } from '../connectors/destination.ts';
