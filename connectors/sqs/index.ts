export { SqsConnector, parseRedrivePolicy } from './sqs-connector.ts';
export type { SqsConnectorOptions, SqsQueueInfo } from './sqs-connector.ts';
export {
  buildSqsEvent,
  convertMessageAttributes,
  convertSystemAttributes,
  toSourceRecord,
  toSqsEventRecord,
} from './sqs-event.ts';
export type {
  SqsEventMessageAttribute,
  SqsEventRecord,
  SqsHandle,
  SqsQueueIdentity,
} from './sqs-event.ts';
export { isFifoQueueUrl, parseQueueUrl, queueArnFromUrl } from './queue-arn.ts';
export type { QueueUrlParts } from './queue-arn.ts';
export { translateSqsError } from './sqs-errors.ts';
export type { FailedVisibility } from './sqs-visibility.ts';
export { exponentialBackoff } from './sqs-visibility.ts';
