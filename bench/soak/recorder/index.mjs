// The chaos soak's function: appends one line per record of the batch it was given to RECORD_FILE
// once the batch is done — `<id> <generation> <receive count> <ms> <message>` — so the soak can
// count what was processed at least once and how often, and attribute every extra delivery to the
// worker generation (SOAK_GEN, from the worker's environment through the config) whose end caused
// it. The receive count (SQS ApproximateReceiveCount, RabbitMQ first/redelivered, '-' elsewhere)
// and the time are evidence; the message (SQS messageId, Kafka partition:offset, '-' elsewhere)
// tells a redelivery from a second copy the producer stored.
// SQS bodies, RabbitMQ and Kafka values (base64) and async event ids are ids.
import { appendFileSync } from 'node:fs';

function deliveriesOf(event) {
  if (Array.isArray(event.Records))
    return event.Records.map((r) => [
      r.body,
      r.attributes?.ApproximateReceiveCount ?? '-',
      r.messageId ?? '-',
    ]);
  const text = (b64) => Buffer.from(b64, 'base64').toString('utf8');
  if (event.rmqMessagesByQueue) {
    return Object.values(event.rmqMessagesByQueue)
      .flat()
      .map((m) => [text(m.data), m.redelivered ? 'redelivered' : 'first', '-']);
  }
  if (event.records) {
    return Object.values(event.records)
      .flat()
      .map((m) => [text(m.value), '-', `${m.partition}:${m.offset}`]);
  }
  return event.id === undefined ? [] : [[event.id, '-', '-']];
}

export const handler = async (event) => {
  const deliveries = deliveriesOf(event);
  const workMs = Number(process.env.WORK_MS || 0);
  if (workMs > 0) await new Promise((resolve) => setTimeout(resolve, workMs));
  const gen = process.env.SOAK_GEN || '?';
  const at = Date.now();
  // One write per batch: O_APPEND keeps concurrent environments' lines whole.
  if (deliveries.length > 0)
    appendFileSync(
      process.env.RECORD_FILE,
      deliveries.map(([id, receives, msg]) => `${id} ${gen} ${receives} ${at} ${msg}\n`).join(''),
    );
  return {};
};
