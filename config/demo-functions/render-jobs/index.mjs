// Demo RabbitMQ consumer: decodes each message of the aws:rmq event and reports a failed job by
// its messageId (sluice's partial batch failures for RabbitMQ); failed jobs are redelivered and
// succeed on their second delivery.
export const handler = async (event) => {
  const batchItemFailures = [];
  let count = 0;
  for (const messages of Object.values(event.rmqMessagesByQueue)) {
    for (const message of messages) {
      count += 1;
      const job = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8'));
      // A retried message is either redelivered in place or (classic queues with a retry limit)
      // republished by sluice with its delivery count in a header.
      const retried =
        message.redelivered ||
        message.basicProperties.headers?.['x-sluice-delivery-count'] !== undefined;
      if (job.flaky && !retried) {
        batchItemFailures.push({ itemIdentifier: message.basicProperties.messageId });
      }
    }
  }
  console.log(`DEMO_RMQ size=${count} failed=${batchItemFailures.length}`);
  return { batchItemFailures };
};
