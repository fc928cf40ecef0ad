/**
 * Queue URL → ARN, without asking SQS. Lambda's `eventSourceARN` names the queue; deriving it from
 * the URL keeps event building pure and works for brokers (ElasticMQ, LocalStack) whose
 * `QueueArn` attribute may name another region or account than the URL the user configured.
 */
import { SluiceError } from '../../src/errors.ts';

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

/** SQS requires FIFO queue names to end in `.fifo`. */
export function isFifoQueueUrl(queueUrl: string): boolean {
  return parseQueueUrl(queueUrl).queueName.endsWith('.fifo');
}

function invalid(queueUrl: string, why: string, cause?: unknown): SluiceError {
  return new SluiceError('CONNECTOR', `invalid SQS queue URL "${queueUrl}": ${why}`, {
    context: { queueUrl },
    cause,
  });
}
