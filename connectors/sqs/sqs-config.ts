/**
 * The SQS source's part of the config: its `source:` keys and connection keys (JSON Schema
 * fragments), their cross-field checks, and the compile step (seconds → ms).
 */
import type { SqsConnectionConfig } from '../../src/connections/connection-configs.ts';
import type {
  MappingConfigBase,
  PathSegment,
  SourceCheckContext,
  SourceRules,
} from '../../src/connectors/plugin.ts';
import { int, numValue, obj, objAt, str, strValue } from '../../src/connectors/schema-kit.ts';

export interface SqsMappingConfig extends MappingConfigBase {
  type: 'sqs';
  source: {
    connection: string;
    queueUrl: string;
    /** URL ends with `.fifo`. */
    fifo: boolean;
    /** `source.retryBackoff` in ms; undefined = failed records back after the visibility timeout. */
    retryBackoff: { baseMs: number; maximumMs: number } | undefined;
  };
}

/** SQS `source.retryBackoff` seconds (SQS's own visibility limit); maximum defaults to 900. */
export const SQS_RETRY_BACKOFF_SECONDS = { min: 0, max: 43_200, defaultMaximum: 900 } as const;
export const SQS_FIFO_MAX_BATCH = 10;
/** SQS standard queues: a batch above this needs a batching window of at least 1 s. */
export const SQS_BATCH_WITHOUT_WINDOW_MAX = 10;

export const SQS_RULES: SourceRules = {
  defaultBatchSize: 10,
  defaultWindowS: 0,
  minMaximumConcurrency: 2,
  defaultMaximumConcurrency: undefined,
  retryControls: false,
  recordAgeAndBisect: false,
  minMinimumPollers: 2,
  unsupportedKeyReason:
    'SQS retries come from the queue: use its redrive policy (maxReceiveCount) and dead-letter queue',
};

export const SQS_CONNECTION_SCHEMA = {
  description: 'An SQS (or ElasticMQ) connection.',
  properties: {
    endpoint: str('Endpoint URL, e.g. http://127.0.0.1:9324. Default: AWS for the region.'),
    region: str('Region. Default: the AWS SDK chain, else us-east-1.'),
    credentials: obj(
      'Static credentials. Default: the AWS SDK default chain.',
      {
        accessKeyId: str('Access key id.'),
        secretAccessKey: str('Secret access key.'),
        sessionToken: str('Session token.'),
      },
      ['accessKeyId', 'secretAccessKey'],
    ),
  },
};

export const SQS_SOURCE_SCHEMA = {
  summary: 'SQS: queueUrl, retryBackoff.',
  required: 'queueUrl',
  properties: {
    queueUrl: str('SQS: queue URL (.fifo = FIFO queue).', {
      pattern: '^https?://',
      'x-expected': 'an http:// or https:// queue URL',
    }),
    retryBackoff: obj(
      "SQS: a failed record stays invisible base × 2^(receives − 1) seconds, capped, before its retry. Default: it comes back when the queue's visibility timeout expires, as with Lambda.",
      {
        baseSeconds: int(
          SQS_RETRY_BACKOFF_SECONDS.min,
          SQS_RETRY_BACKOFF_SECONDS.max,
          's',
          'Delay after the first failed delivery.',
        ),
        maximumSeconds: int(
          SQS_RETRY_BACKOFF_SECONDS.min,
          SQS_RETRY_BACKOFF_SECONDS.max,
          's',
          'Longest delay, at least baseSeconds. Default 900.',
          SQS_RETRY_BACKOFF_SECONDS.defaultMaximum,
        ),
      },
      ['baseSeconds'],
    ),
  },
};

export function checkSqsConnection(
  name: string,
  c: Record<string, unknown>,
  ctx: SourceCheckContext,
): void {
  const text = strValue(c.endpoint);
  if (text === undefined) return;
  const path = ['connections', name, 'endpoint'];
  if (!URL.canParse(text)) ctx.problems.add(path, `must be a URL, got ${ctx.show(text, path)}`);
}

/** `retryBackoff` bounds, and Lambda's batching limits of FIFO and standard queues. */
export function checkSqsMapping(
  base: PathSegment[],
  m: Record<string, unknown>,
  source: Record<string, unknown>,
  { problems }: SourceCheckContext,
): void {
  const backoff = objAt(source, 'retryBackoff');
  const first = numValue(backoff?.baseSeconds);
  const longest = numValue(backoff?.maximumSeconds);
  if (first !== undefined && longest !== undefined && longest < first) {
    problems.add(
      [...base, 'source', 'retryBackoff', 'maximumSeconds'],
      `must be at least baseSeconds (${first}), got ${longest}`,
    );
  }
  const batch = numValue(m.batchSize);
  const window = numValue(m.maximumBatchingWindowInSeconds);
  const queueUrl = strValue(source.queueUrl);
  if (queueUrl !== undefined && isFifoQueueUrlText(queueUrl)) {
    if (batch !== undefined && batch > SQS_FIFO_MAX_BATCH) {
      problems.add(
        [...base, 'batchSize'],
        `must be an integer from 1 to ${SQS_FIFO_MAX_BATCH} for an SQS FIFO queue (as Lambda), got ${batch}`,
      );
    }
    if (window !== undefined && window > 0) {
      problems.add(
        [...base, 'maximumBatchingWindowInSeconds'],
        `is not supported for an SQS FIFO queue (as Lambda): remove it, got ${window}`,
      );
    }
    return;
  }
  if (batch !== undefined && batch > SQS_BATCH_WITHOUT_WINDOW_MAX && (window ?? 0) < 1) {
    problems.add(
      [...base, window === undefined ? 'batchSize' : 'maximumBatchingWindowInSeconds'],
      `must be at least 1 second when batchSize is above ${SQS_BATCH_WITHOUT_WINDOW_MAX} for an SQS queue (as Lambda); got batchSize ${batch} and ${window === undefined ? 'no maximumBatchingWindowInSeconds' : `maximumBatchingWindowInSeconds ${window}`}`,
    );
  }
}

/** A `.fifo` queue URL is a FIFO queue (read from the text as written; trailing slashes ignored). */
export function isFifoQueueUrlText(queueUrl: string): boolean {
  return queueUrl.replace(/\/+$/, '').endsWith('.fifo');
}

const secondsToMs = (s: number): number => Math.round(s * 1000);

export function compileSqsConnection(
  name: string,
  c: Record<string, unknown>,
): SqsConnectionConfig {
  return {
    type: 'sqs',
    name,
    endpoint: c.endpoint as string | undefined,
    region: c.region as string | undefined,
    credentials: c.credentials as SqsConnectionConfig['credentials'],
  };
}

export function compileSqsMapping(
  base: MappingConfigBase,
  options: Record<string, unknown>,
  connection: string,
): SqsMappingConfig {
  const s = options.source as {
    queueUrl: string;
    retryBackoff?: { baseSeconds: number; maximumSeconds?: number };
  };
  const backoff = s.retryBackoff;
  const retryBackoff = backoff
    ? {
        baseMs: secondsToMs(backoff.baseSeconds),
        maximumMs: secondsToMs(backoff.maximumSeconds ?? SQS_RETRY_BACKOFF_SECONDS.defaultMaximum),
      }
    : undefined;
  return {
    ...base,
    type: 'sqs',
    source: {
      connection,
      queueUrl: s.queueUrl,
      fifo: isFifoQueueUrlText(s.queueUrl),
      retryBackoff,
    },
  };
}

/** The mapping's SQS keys back in YAML shape. */
export function sqsOptions(m: SqsMappingConfig): Record<string, unknown> {
  const backoff = m.source.retryBackoff;
  return {
    source: {
      connection: m.source.connection,
      queueUrl: m.source.queueUrl,
      ...(backoff
        ? {
            retryBackoff: {
              baseSeconds: backoff.baseMs / 1000,
              maximumSeconds: backoff.maximumMs / 1000,
            },
          }
        : {}),
    },
  };
}
