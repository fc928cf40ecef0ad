/**
 * The Kafka source's part of the config: its connection and `source:` keys (JSON Schema
 * fragments), their cross-field checks, and the compile step. Defaults and limits are here, so
 * the schema, the checks, the compiler and the connector's tuning can never disagree.
 */
import { resolve } from 'node:path';
import type { KafkaConnectionConfig } from '../../src/connections/connection-configs.ts';
import type {
  DestinationBase,
  MappingConfigBase,
  PathSegment,
  SourceCheckContext,
  SourceCompileContext,
  SourceRules,
} from '../../src/connectors/plugin.ts';
import {
  bool,
  int,
  numValue,
  obj,
  objAt,
  oneOfStrings,
  str,
  strValue,
} from '../../src/connectors/schema-kit.ts';

export interface KafkaMappingConfig extends MappingConfigBase {
  type: 'kafka';
  source: {
    connection: string;
    topic: string;
    /** Default `sluice-<mapping name>`. */
    consumerGroupId: string;
    /** Default `TRIM_HORIZON`. */
    startingPosition: 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
    /** Epoch ms, set for `AT_TIMESTAMP` only. */
    startingPositionTimestampMs: number | undefined;
    /** Group session timeout; undefined = the environment's or 30 000 ms. */
    sessionTimeoutMs: number | undefined;
    /** Heartbeat cadence; undefined = the environment's or 3000 ms. */
    heartbeatIntervalMs: number | undefined;
    /** Commit coalescing; undefined = the environment's or 100 ms. */
    commitIntervalMs: number | undefined;
  };
  /**
   * Retries of a failed batch; `Infinity` = until it succeeds or the records expire (Lambda's −1).
   * Lambda caps infinite retries at 10 when an onFailure destination is set; so does the compiler.
   */
  maximumRetryAttempts: number;
  /** Records older than this are given up; `Infinity` = never (Lambda's −1). */
  maximumRecordAgeMs: number;
  /** Default false. */
  bisectBatchOnFunctionError: boolean;
  onFailure: DestinationBase | undefined;
}

export const KAFKA_DEFAULT_CLIENT_ID = 'sluice';
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
/** Kafka consumer group session: the brokers' default group.min/max.session.timeout.ms. */
export const KAFKA_SESSION_TIMEOUT_MS = { min: 6000, max: 1_800_000, default: 30_000 } as const;
/** Kafka heartbeat cadence; must also stay below the session timeout. */
export const KAFKA_HEARTBEAT_INTERVAL_MS = { min: 100, max: 600_000, default: 3000 } as const;
/** Kafka offset commit coalescing, ms (0 = a commit per settled batch). */
export const KAFKA_COMMIT_INTERVAL_MS = { min: 0, max: 60_000, default: 100 } as const;
export const STARTING_POSITIONS = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'] as const;
/** Kafka mappings without `startingPosition` read from the beginning (nothing is skipped). */
export const DEFAULT_STARTING_POSITION = 'TRIM_HORIZON';
export const CONSUMER_GROUP_MAX_CHARS = 200;
export const RECORD_AGE_S = { default: -1 } as const;

export const KAFKA_RULES: SourceRules = {
  defaultBatchSize: 100,
  defaultWindowS: 0.5,
  minMaximumConcurrency: 1,
  defaultMaximumConcurrency: undefined,
  retryControls: true,
  recordAgeAndBisect: true,
  minMinimumPollers: 1,
  unsupportedKeyReason: 'it applies to Kafka sources only',
};

export const KAFKA_CONNECTION_SCHEMA = {
  description: 'A Kafka connection.',
  required: ['bootstrapServers'],
  properties: {
    bootstrapServers: {
      type: ['array', 'string'],
      description: '1–10 host:port brokers (a list or a comma-separated string).',
      items: { type: 'string', 'x-expected': 'a host:port string' },
      minItems: 1,
      maxItems: 10,
      'x-expected': 'a list of 1–10 host:port strings',
    },
    clientId: str('Client id. Default sluice.', { minLength: 1 }),
    sasl: obj(
      'SASL authentication.',
      {
        mechanism: oneOfStrings(SASL_MECHANISMS, 'SASL mechanism.'),
        username: str('User name.'),
        password: str('Password (use ${VAR}).'),
      },
      ['mechanism', 'username', 'password'],
    ),
    ssl: {
      type: ['boolean', 'object'],
      description: 'TLS: true, or PEM file paths relative to this file.',
      additionalProperties: false,
      properties: {
        ca: str('CA bundle (PEM) path.'),
        cert: str('Client certificate (PEM) path, for mTLS.'),
        key: str('Client key (PEM) path, for mTLS.'),
        rejectUnauthorized: bool('Verify the broker certificate. Default true.', true),
      },
      'x-expected': 'true, false, or a map with ca, cert, key, rejectUnauthorized',
    },
  },
};

export const KAFKA_SOURCE_SCHEMA = {
  summary:
    'Kafka: topic, consumerGroupId, startingPosition(+Timestamp), sessionTimeoutMs, heartbeatIntervalMs, commitIntervalMs.',
  required: 'topic',
  properties: {
    topic: str('Kafka: topic.', {
      pattern: '^[A-Za-z0-9._-]{1,249}$',
      'x-expected': '1–249 letters, digits, ".", "-" or "_"',
    }),
    consumerGroupId: str('Kafka: consumer group id. Default sluice-<mapping name>.', {
      minLength: 1,
      maxLength: CONSUMER_GROUP_MAX_CHARS,
      'x-expected': `a string of 1–${CONSUMER_GROUP_MAX_CHARS} characters`,
    }),
    startingPosition: oneOfStrings(
      STARTING_POSITIONS,
      'Kafka: where a new consumer group starts. Default TRIM_HORIZON.',
      DEFAULT_STARTING_POSITION,
    ),
    startingPositionTimestamp: {
      type: ['string', 'number'],
      description: 'Kafka AT_TIMESTAMP: ISO 8601 time or epoch seconds.',
      'x-expected': 'an ISO 8601 time or epoch seconds',
    },
    sessionTimeoutMs: int(
      KAFKA_SESSION_TIMEOUT_MS.min,
      KAFKA_SESSION_TIMEOUT_MS.max,
      'ms',
      'Kafka: consumer group session timeout — how long a crashed sluice keeps its partitions. Default 30000.',
      KAFKA_SESSION_TIMEOUT_MS.default,
    ),
    heartbeatIntervalMs: int(
      KAFKA_HEARTBEAT_INTERVAL_MS.min,
      KAFKA_HEARTBEAT_INTERVAL_MS.max,
      'ms',
      'Kafka: consumer heartbeat cadence, below the session timeout. Default 3000.',
      KAFKA_HEARTBEAT_INTERVAL_MS.default,
    ),
    commitIntervalMs: int(
      KAFKA_COMMIT_INTERVAL_MS.min,
      KAFKA_COMMIT_INTERVAL_MS.max,
      'ms',
      'Kafka: longest a settled offset waits to be committed with later ones; 0 = a commit per batch. Default 100.',
      KAFKA_COMMIT_INTERVAL_MS.default,
    ),
  },
};

/** `a:9092,b:9092` or a list → trimmed entries. */
export function bootstrapList(value: unknown): string[] | undefined {
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
    return value.map((s) => s.trim());
  return undefined;
}

/** Epoch ms of `startingPositionTimestamp` (ISO 8601 text or epoch seconds), or NaN. */
export function timestampMs(value: string | number): number {
  if (typeof value === 'number') return value * 1000;
  return /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

export function checkKafkaConnection(
  name: string,
  c: Record<string, unknown>,
  ctx: SourceCheckContext,
): void {
  const { problems } = ctx;
  const path = ['connections', name, 'bootstrapServers'];
  const servers = bootstrapList(c.bootstrapServers);
  if (servers !== undefined) {
    if (servers.length === 0 || servers.length > 10) {
      problems.add(path, `must list 1 to 10 host:port brokers, got ${servers.length}`);
    }
    servers.forEach((server, index) => {
      const match = HOST_PORT.exec(server);
      const port = match === null ? NaN : Number(match[2]);
      if (!(port >= 1 && port <= 65535)) {
        const at = Array.isArray(c.bootstrapServers) ? [...path, index] : path;
        problems.add(at, `must be host:port (e.g. 127.0.0.1:9092), got ${ctx.show(server, at)}`);
      }
    });
  }
  const ssl = objAt(c, 'ssl');
  if (ssl === undefined) return;
  for (const key of ['ca', 'cert', 'key']) {
    const file = strValue(ssl[key]);
    if (file === undefined) continue;
    const absolute = resolve(ctx.baseDir, file);
    if (!ctx.fileExists(absolute)) {
      problems.add(
        ['connections', name, 'ssl', key],
        `must be an existing PEM file (relative to the config file), got ${JSON.stringify(file)}: ${absolute} does not exist`,
      );
    }
  }
  if ((ssl.cert === undefined) !== (ssl.key === undefined)) {
    const missing = ssl.cert === undefined ? 'cert' : 'key';
    problems.add(
      ['connections', name, 'ssl', missing],
      'is required with ssl.cert / ssl.key: mTLS needs both',
      { target: 'key' },
    );
  }
}

/** Heartbeat below the session timeout; `startingPositionTimestamp` with AT_TIMESTAMP only. */
export function checkKafkaMapping(
  base: PathSegment[],
  _m: Record<string, unknown>,
  source: Record<string, unknown>,
  ctx: SourceCheckContext,
): void {
  const { problems } = ctx;
  const session = numValue(source.sessionTimeoutMs);
  const heartbeat = numValue(source.heartbeatIntervalMs);
  const limit = session ?? KAFKA_SESSION_TIMEOUT_MS.default;
  if (heartbeat !== undefined && heartbeat >= limit) {
    problems.add(
      [...base, 'source', 'heartbeatIntervalMs'],
      `must be below the session timeout (${limit} ms${session === undefined ? ', the default' : ''}), got ${heartbeat}`,
    );
  }
  const position = source.startingPosition;
  const stamp = source.startingPositionTimestamp;
  const path = [...base, 'source', 'startingPositionTimestamp'];
  if (position === 'AT_TIMESTAMP' && stamp === undefined) {
    problems.add(path, 'is required with startingPosition AT_TIMESTAMP', { target: 'key' });
  }
  if (stamp !== undefined && position !== 'AT_TIMESTAMP') {
    problems.add(path, 'applies only with startingPosition: AT_TIMESTAMP', { target: 'key' });
  }
  if (typeof stamp !== 'string' && typeof stamp !== 'number') return;
  const ms = timestampMs(stamp);
  if (Number.isNaN(ms)) {
    problems.add(
      path,
      `must be an ISO 8601 time (2024-05-01T00:00:00Z) or epoch seconds, got ${ctx.show(stamp, path)}`,
    );
  } else if (ms > ctx.now) {
    problems.add(
      path,
      `must not be in the future, got ${ctx.show(stamp, path)} (${new Date(ms).toISOString()})`,
    );
  }
}

export function compileKafkaConnection(
  name: string,
  c: Record<string, unknown>,
  baseDir: string,
): KafkaConnectionConfig {
  const ssl = c.ssl as
    | boolean
    | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean }
    | undefined;
  const sasl = c.sasl as { mechanism: string; username: string; password: string } | undefined;
  const file = (path: string | undefined): string | undefined =>
    path === undefined ? undefined : resolve(baseDir, path);
  return {
    type: 'kafka',
    name,
    bootstrapServers: bootstrapList(c.bootstrapServers) ?? [],
    clientId: (c.clientId as string | undefined) ?? KAFKA_DEFAULT_CLIENT_ID,
    sasl:
      sasl === undefined
        ? undefined
        : {
            mechanism: sasl.mechanism as (typeof SASL_MECHANISMS)[number],
            username: sasl.username,
            password: sasl.password,
          },
    ssl:
      ssl === undefined || ssl === false
        ? undefined
        : ssl === true
          ? { caFile: undefined, certFile: undefined, keyFile: undefined, rejectUnauthorized: true }
          : {
              caFile: file(ssl.ca),
              certFile: file(ssl.cert),
              keyFile: file(ssl.key),
              rejectUnauthorized: ssl.rejectUnauthorized ?? true,
            },
  };
}

interface KafkaSourceOptions {
  topic: string;
  consumerGroupId?: string;
  startingPosition?: string;
  startingPositionTimestamp?: string | number;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  commitIntervalMs?: number;
}

export function compileKafkaMapping(
  base: MappingConfigBase,
  m: Record<string, unknown>,
  ctx: SourceCompileContext,
): KafkaMappingConfig {
  const s = m.source as KafkaSourceOptions;
  const position = (s.startingPosition ?? DEFAULT_STARTING_POSITION) as
    'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP';
  const stamp = s.startingPositionTimestamp;
  const age = (m.maximumRecordAgeInSeconds as number | undefined) ?? RECORD_AGE_S.default;
  return {
    ...base,
    type: 'kafka',
    source: {
      connection: ctx.connection.name,
      topic: s.topic,
      consumerGroupId: s.consumerGroupId ?? `sluice-${base.name}`,
      startingPosition: position,
      startingPositionTimestampMs:
        position === 'AT_TIMESTAMP' && stamp !== undefined ? timestampMs(stamp) : undefined,
      sessionTimeoutMs: s.sessionTimeoutMs,
      heartbeatIntervalMs: s.heartbeatIntervalMs,
      commitIntervalMs: s.commitIntervalMs,
    },
    maximumRetryAttempts: ctx.retries(m.maximumRetryAttempts as number | undefined),
    maximumRecordAgeMs: age < 0 ? Infinity : Math.round(age * 1000),
    bisectBatchOnFunctionError: (m.bisectBatchOnFunctionError as boolean | undefined) ?? false,
    onFailure: ctx.onFailure,
  };
}
