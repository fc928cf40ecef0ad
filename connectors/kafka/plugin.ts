/**
 * The Kafka source as a plugin (#16): config fragment and checks, compile step, runner defaults,
 * filter data key, API ⇄ options translation, rebuild inputs and the builder.
 */
import type { KafkaConnectionConfig } from '../../src/connections/connection-configs.ts';
import { lambdaLimit, onFailureOptions, type SourcePlugin } from '../../src/connectors/plugin.ts';
import { kafkaDestinationPart } from './kafka-destination.ts';
import { buildKafkaBundle, type KafkaBundleDeps } from './kafka-bundle.ts';
import {
  checkKafkaConnection,
  checkKafkaMapping,
  compileKafkaConnection,
  compileKafkaMapping,
  KAFKA_CONNECTION_SCHEMA,
  KAFKA_RULES,
  KAFKA_SOURCE_SCHEMA,
  type KafkaMappingConfig,
} from './kafka-config.ts';

type Req = {
  Topics?: string[];
  SelfManagedEventSource?: { Endpoints?: { KAFKA_BOOTSTRAP_SERVERS?: string[] } };
  SelfManagedKafkaEventSourceConfig?: { ConsumerGroupId?: string };
  AmazonManagedKafkaEventSourceConfig?: { ConsumerGroupId?: string };
  StartingPosition?: string;
  StartingPositionTimestamp?: number | string;
};

function definedOnly(values: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, number] => entry[1] !== undefined),
  );
}

export const kafkaPlugin: SourcePlugin<KafkaMappingConfig, KafkaConnectionConfig, KafkaBundleDeps> =
  {
    type: 'kafka',
    withArticle: 'a kafka',
    rules: KAFKA_RULES,
    connectionSchema: KAFKA_CONNECTION_SCHEMA,
    sourceSchema: KAFKA_SOURCE_SCHEMA,
    checkConnection: checkKafkaConnection,
    checkMapping: checkKafkaMapping,
    onFailureProblem: (destination, source, sameConnection) =>
      destination.type === 'kafka' && destination.topic === source.topic && sameConnection
        ? `must not be the source topic ${JSON.stringify(destination.topic)}: failed records would be consumed again in a loop`
        : undefined,
    compileConnection: compileKafkaConnection,
    compileMapping: compileKafkaMapping,
    connectionOptions: (c) => ({ type: 'kafka', bootstrapServers: c.bootstrapServers }),
    toOptions: (m) => ({
      source: {
        connection: m.source.connection,
        topic: m.source.topic,
        consumerGroupId: m.source.consumerGroupId,
        startingPosition: m.source.startingPosition,
        ...(m.source.startingPositionTimestampMs !== undefined
          ? { startingPositionTimestamp: m.source.startingPositionTimestampMs / 1000 }
          : {}),
        ...definedOnly({
          sessionTimeoutMs: m.source.sessionTimeoutMs,
          heartbeatIntervalMs: m.source.heartbeatIntervalMs,
          commitIntervalMs: m.source.commitIntervalMs,
        }),
      },
      maximumRetryAttempts: lambdaLimit(m.maximumRetryAttempts),
      maximumRecordAgeInSeconds: Number.isFinite(m.maximumRecordAgeMs)
        ? m.maximumRecordAgeMs / 1000
        : -1,
      bisectBatchOnFunctionError: m.bisectBatchOnFunctionError,
      ...onFailureOptions(m.onFailure),
    }),

    // Partitions are lanes: each keeps its order; batches gather from their first record.
    runnerDefaults: () => ({
      ordered: true,
      windowMode: 'first-record',
      // Lambda runs one invoke per partition: the tuner starts at the partitions' limit.
      initialInvokeConcurrency: Number.POSITIVE_INFINITY,
    }),
    filterData: { key: 'value', encoding: 'base64-json' },
    connectorInputs: (m) => ({
      onFailure: m.onFailure,
      maximumRetryAttempts: m.maximumRetryAttempts,
      maximumRecordAgeMs: m.maximumRecordAgeMs,
      bisectBatchOnFunctionError: m.bisectBatchOnFunctionError,
      batchSize: m.batchSize,
      functionName: m.functionName,
    }),
    identity: (m) =>
      JSON.stringify([
        'kafka',
        m.functionName,
        m.source.connection,
        m.source.topic,
        m.source.consumerGroupId,
      ]),
    build: buildKafkaBundle,

    eventSourceArn: () => undefined, // self-managed Kafka has no EventSourceArn on Lambda
    toApiFields: (m, ctx) => {
      const conn = ctx.connections[m.source.connection] as KafkaConnectionConfig | undefined;
      return {
        Topics: [m.source.topic],
        StartingPosition: m.source.startingPosition,
        ...(m.source.startingPositionTimestampMs !== undefined
          ? { StartingPositionTimestamp: m.source.startingPositionTimestampMs / 1000 }
          : {}),
        SelfManagedEventSource: {
          Endpoints: {
            KAFKA_BOOTSTRAP_SERVERS: conn?.type === 'kafka' ? conn.bootstrapServers : [],
          },
        },
        SelfManagedKafkaEventSourceConfig: { ConsumerGroupId: m.source.consumerGroupId },
        MaximumRetryAttempts: lambdaLimit(m.maximumRetryAttempts),
        MaximumRecordAgeInSeconds: Number.isFinite(m.maximumRecordAgeMs)
          ? m.maximumRecordAgeMs / 1000
          : -1,
        BisectBatchOnFunctionError: m.bisectBatchOnFunctionError,
        ...(m.onFailure
          ? { DestinationConfig: { OnFailure: { Destination: m.onFailure.uri } } }
          : {}),
      };
    },
    requestHint: 'Topics (Kafka)',
    requestToSource: (request, pick) => {
      const req = request as Req;
      if (!req.Topics?.length) return undefined;
      const servers = req.SelfManagedEventSource?.Endpoints?.KAFKA_BOOTSTRAP_SERVERS ?? [];
      const conn = pick(
        'kafka',
        (c) =>
          c.type === 'kafka' &&
          (c as KafkaConnectionConfig).bootstrapServers.some((s) => servers.includes(s)),
      );
      const group =
        req.SelfManagedKafkaEventSourceConfig?.ConsumerGroupId ??
        req.AmazonManagedKafkaEventSourceConfig?.ConsumerGroupId;
      return {
        connection: conn.name,
        topic: req.Topics[0],
        ...(group ? { consumerGroupId: group } : {}),
        ...(req.StartingPosition ? { startingPosition: req.StartingPosition } : {}),
        ...(req.StartingPositionTimestamp !== undefined
          ? { startingPositionTimestamp: req.StartingPositionTimestamp }
          : {}),
      };
    },

    // — destination —
    destination: kafkaDestinationPart,
  };
