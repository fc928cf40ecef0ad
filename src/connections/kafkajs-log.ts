/**
 * The level a kafkajs log entry is written at. kafkajs logs every broker error response at error
 * level, including the ones a routine consumer-group rebalance produces: a member joining or
 * leaving makes the other members' heartbeats, joins and commits answer "rebalancing" until the
 * group re-forms (about six error lines in a normal two-worker start). kafkajs handles those by
 * re-joining; they are logged at debug here, and kafkajs's own "re-joining" warning at info. A
 * consumer that really fails still shows: kafkajs then crashes (logged at error by kafkajs and by
 * the connector).
 */
import { logLevel } from 'kafkajs';

export type BridgedLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * Texts of the broker error codes an ordinary rebalance or coordinator move answers with, as
 * kafkajs words them (`kafkajs/src/protocol/error.js`; the unit test checks they still match).
 */
export const ROUTINE_GROUP_ERRORS: ReadonlyMap<number, string> = new Map([
  [14, "The coordinator is loading and hence can't process requests for this group"], // GROUP_LOAD_IN_PROGRESS
  [15, 'The group coordinator is not available'], // GROUP_COORDINATOR_NOT_AVAILABLE
  [16, 'This is not the correct coordinator for this group'], // NOT_COORDINATOR_FOR_GROUP
  [22, 'Specified group generation id is not valid'], // ILLEGAL_GENERATION
  [27, 'The group is rebalancing, so a rejoin is needed'], // REBALANCE_IN_PROGRESS
]);

const ROUTINE_TEXTS = new Set(ROUTINE_GROUP_ERRORS.values());

/** kafkajs's warning when a fetch finds the group rebalancing (consumer/runner.js). */
export const REJOINING_MESSAGE = 'The group is rebalancing, re-joining';

export function kafkajsLogLevel(
  level: logLevel,
  entry: { message?: unknown; error?: unknown },
): BridgedLevel {
  if (typeof entry.error === 'string' && ROUTINE_TEXTS.has(entry.error)) {
    return entry.message === REJOINING_MESSAGE ? 'info' : 'debug';
  }
  if (level <= logLevel.ERROR) return 'error';
  if (level === logLevel.WARN) return 'warn';
  return 'debug';
}
