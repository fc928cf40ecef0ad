/** SQS queue URLs: the ARN derivation lives with every other ARN (src/lambda/arn.ts). */
import { parseQueueUrl } from '../../src/lambda/arn.ts';

export { parseQueueUrl, queueArnFromUrl, type QueueUrlParts } from '../../src/lambda/arn.ts';

/** SQS requires FIFO queue names to end in `.fifo`. */
export function isFifoQueueUrl(queueUrl: string): boolean {
  return parseQueueUrl(queueUrl).queueName.endsWith('.fifo');
}
