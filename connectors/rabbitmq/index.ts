export { RabbitMqConnector, vhostUrl } from './rabbitmq-connector.ts';
export type { RabbitMqConnectorOptions } from './rabbitmq-connector.ts';
export { rabbitMqBundle } from './rabbitmq-bundle.ts';
export { ChannelSupervisor } from './channel-supervisor.ts';
export { planAcks } from './ack-plan.ts';
export {
  attemptsBefore,
  basicProperties,
  buildRmqEvent,
  convertHeaders,
  formatAmqpTimestamp,
  queueKey,
  recordId,
  rmqEventRecordJson,
  toRmqEventRecord,
  toSourceRecord,
  QUORUM_DELIVERY_COUNT,
  SLUICE_DELIVERY_COUNT,
} from './rmq-event.ts';
export type { AmqpDelivery, RmqEventRecord, RmqHandle, RmqQueueIdentity } from './rmq-event.ts';
export {
  deadLetterRoute,
  decideFailures,
  failureRecord,
  parkingQueueName,
  retryMethod,
} from './redelivery-policy.ts';
export { defaultManagementUrl, parseQueueInfo } from './queue-info.ts';
export type { QueueInfo } from './queue-info.ts';
export { translateRmqError } from './rmq-errors.ts';
