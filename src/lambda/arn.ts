/**
 * Every ARN sluice prints or parses: function, event-source-mapping and runtime-version ARNs, and
 * the event-source ARNs Lambda reports for queues and brokers. One module, so the API, the events
 * and the destinations' records always agree on a resource's name.
 */
import { SluiceError } from '../errors.ts';

/** `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`. */
export function functionArn(
  region: string,
  accountId: string,
  name: string,
  qualifier?: string,
): string {
  return `arn:aws:lambda:${region}:${accountId}:function:${name}${qualifier ? `:${qualifier}` : ''}`;
}

/** `arn:aws:lambda:<region>:<account>:event-source-mapping:<uuid>`. */
export function eventSourceMappingArn(region: string, accountId: string, uuid: string): string {
  return `arn:aws:lambda:${region}:${accountId}:event-source-mapping:${uuid}`;
}

/** The runtime version ARN of the `INIT_START` log line (sluice's runtimes have no account). */
export function runtimeVersionArn(region: string, runtimeVersion: string): string {
  return `arn:aws:lambda:${region}::runtime:sluice-${runtimeVersion}`;
}

/**
 * The event-source ARN of a message broker (Amazon MQ's form, as Lambda reports a RabbitMQ
 * source): the broker is sluice's connection, named after it.
 */
export function brokerArn(region: string, accountId: string, connectionName: string): string {
  return `arn:aws:mq:${region}:${accountId}:broker:${connectionName}:sluice`;
}

/** `arn:aws:s3:::<bucket>` (bucket ARNs name no region or account). */
export function s3BucketArn(bucketName: string): string {
  return `arn:aws:s3:::${bucketName}`;
}

const LAMBDA_FUNCTION_ARN =
  /^arn:aws[a-z-]*:lambda:[a-z0-9-]*:[0-9]*:function:([A-Za-z0-9_-]{1,64})(:[^:]+)?$/;

/** The function a Lambda function ARN names (qualifier ignored); undefined for anything else. */
export function functionNameOfArn(text: string): string | undefined {
  return LAMBDA_FUNCTION_ARN.exec(text)?.[1];
}

const SQS_QUEUE_ARN = /^arn:aws[a-zA-Z-]*:sqs:([^:]+):(\d{12}):([A-Za-z0-9_.-]{1,80})$/;

export interface SqsQueueArnParts {
  region: string;
  accountId: string;
  queueName: string;
}

/** `arn:aws:sqs:<region>:<12-digit account>:<queue>` split; undefined when it is not one. */
export function parseSqsQueueArn(text: string): SqsQueueArnParts | undefined {
  const match = SQS_QUEUE_ARN.exec(text);
  if (!match) return undefined;
  const [, region, accountId, queueName] = match as unknown as [string, string, string, string];
  return { region, accountId, queueName };
}

/*
 * Queue URL → ARN, without asking SQS. Lambda's `eventSourceARN` names the queue; deriving it from
 * the URL keeps event building pure and works for brokers (ElasticMQ, LocalStack) whose
 * `QueueArn` attribute may name another region or account than the URL the user configured.
 */

export interface QueueUrlParts {
  accountId: string;
  queueName: string;
  /** The region named in an AWS host (`sqs.<region>.amazonaws.com`), if any. */
  hostRegion: string | undefined;
  /** `aws`, or `aws-cn` for `.amazonaws.com.cn` hosts. */
  partition: string;
}

// sqs.<region>.amazonaws.com, <region>.queue.amazonaws.com (legacy), sqs.<region>.localhost.localstack.cloud
const HOST_REGION = /^(?:sqs\.([a-z0-9-]+)\.|([a-z]{2}(?:-[a-z]+)+-\d+)\.queue\.)/;

/**
 * Splits a queue URL. The last two path segments are `<account>/<name>` for AWS, ElasticMQ and
 * LocalStack's path style (`/queue/<region>/<account>/<name>`) alike.
 */
export function parseQueueUrl(queueUrl: string): QueueUrlParts {
  let url: URL;
  try {
    url = new URL(queueUrl);
  } catch (cause) {
    throw invalid(queueUrl, 'not a URL', cause);
  }
  const segments = url.pathname.split('/').filter((segment) => segment !== '');
  const queueName = segments.at(-1);
  const accountId = segments.at(-2);
  if (queueName === undefined || accountId === undefined) {
    throw invalid(queueUrl, 'expected …/<account id>/<queue name>');
  }
  const match = HOST_REGION.exec(url.hostname);
  return {
    accountId: decodeURIComponent(accountId),
    queueName: decodeURIComponent(queueName),
    hostRegion: match?.[1] ?? match?.[2],
    partition: url.hostname.endsWith('.amazonaws.com.cn') ? 'aws-cn' : 'aws',
  };
}

/** `arn:aws:sqs:<region>:<account>:<name>`; `region` wins over the one in the host. */
export function queueArnFromUrl(queueUrl: string, region: string): string {
  const { accountId, queueName, partition } = parseQueueUrl(queueUrl);
  return `arn:${partition}:sqs:${region}:${accountId}:${queueName}`;
}

function invalid(queueUrl: string, why: string, cause?: unknown): SluiceError {
  return new SluiceError('CONNECTOR', `invalid SQS queue URL "${queueUrl}": ${why}`, {
    context: { queueUrl },
    cause,
  });
}
