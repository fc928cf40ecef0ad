import { createRequire } from 'node:module';
import { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KafkaConnectionConfig } from '../../src/connections/connection-configs.ts';
import { kafkaConfig } from '../../src/connections/connections.ts';
import { ROUTINE_GROUP_ERRORS } from '../../src/connections/kafkajs-log.ts';

const CONNECTION: KafkaConnectionConfig = {
  type: 'kafka',
  name: 'main',
  bootstrapServers: ['127.0.0.1:9092'],
  clientId: 'sluice',
  sasl: undefined,
  ssl: undefined,
};

/** Levels (pino numbers) at which kafkaConfig's bridge writes each kafkajs entry. */
function bridged(entries: { level: logLevel; message: string; extra?: object }[]): number[] {
  const levels: number[] = [];
  const logger = pino(
    { level: 'trace' },
    { write: (line: string) => levels.push((JSON.parse(line) as { level: number }).level) },
  );
  const logCreator = kafkaConfig(CONNECTION, logger).logCreator;
  if (!logCreator) throw new Error('no logCreator');
  const log = logCreator(logLevel.DEBUG);
  for (const e of entries) {
    log({
      namespace: 'Connection',
      level: e.level,
      label: logLevel[e.level],
      log: { timestamp: '', logger: 'kafkajs', message: e.message, ...e.extra },
    });
  }
  return levels;
}

const PINO = { error: 50, warn: 40, info: 30, debug: 20 };
const REBALANCING = 'The group is rebalancing, so a rejoin is needed';

describe('kafkajs log levels', () => {
  it('logs the broker answers of a routine rebalance below warn', () => {
    // What kafkajs 2.2 logs in a normal two-worker start (seen on a real broker).
    const levels = bridged([
      {
        level: logLevel.ERROR,
        message: 'Response Heartbeat(key: 12, version: 3)',
        extra: { broker: 'b:9092', clientId: 'c', error: REBALANCING, correlationId: 7, size: 10 },
      },
      {
        level: logLevel.ERROR,
        message: 'Response JoinGroup(key: 11, version: 5)',
        extra: { error: REBALANCING },
      },
      {
        level: logLevel.ERROR,
        message: 'Response OffsetCommit(key: 8, version: 5)',
        extra: { error: 'Specified group generation id is not valid' },
      },
      {
        level: logLevel.ERROR,
        message: 'Response GroupCoordinator(key: 10, version: 2)',
        extra: { error: 'The group coordinator is not available' },
      },
      {
        level: logLevel.WARN,
        message: 'The group is rebalancing, re-joining',
        extra: { groupId: 'g', memberId: 'm', error: REBALANCING },
      },
    ]);
    expect(levels).toEqual([PINO.debug, PINO.debug, PINO.debug, PINO.debug, PINO.info]);
  });

  it('keeps other errors and warnings at their level', () => {
    const levels = bridged([
      {
        level: logLevel.ERROR,
        message: 'Response Metadata(key: 3, version: 6)',
        extra: { error: 'This server does not host this topic-partition' },
      },
      {
        level: logLevel.ERROR,
        message: 'The coordinator is not aware of this member, re-joining the group',
        extra: { error: 'The coordinator is not aware of this member' },
      },
      { level: logLevel.ERROR, message: 'Crash: KafkaJSNumberOfRetriesExceeded: x' },
      { level: logLevel.WARN, message: 'KafkaJS v2.0.0 switched default partitioner' },
      { level: logLevel.INFO, message: 'Consumer has joined the group' },
    ]);
    expect(levels).toEqual([PINO.error, PINO.error, PINO.error, PINO.warn, PINO.debug]);
  });

  it('matches the texts kafkajs gives those error codes', () => {
    const require = createRequire(import.meta.url);
    const { createErrorFromCode } = require('kafkajs/src/protocol/error.js') as {
      createErrorFromCode(code: number): { message: string; type: string };
    };
    for (const [code, text] of ROUTINE_GROUP_ERRORS) {
      expect(createErrorFromCode(code).message).toBe(text);
    }
    expect(createErrorFromCode(27).type).toBe('REBALANCE_IN_PROGRESS');
  });
});
