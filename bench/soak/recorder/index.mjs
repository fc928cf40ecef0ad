// The chaos soak's function: appends one line per record of the batch it was given to RECORD_FILE
// once the batch is done — `<id> <generation> <receive count> <ms>` — so the soak can count what
// was processed at least once and how often, and attribute every extra delivery to the worker
// generation (SOAK_GEN, from the worker's environment through the config) whose end caused it.
// The receive count (SQS ApproximateReceiveCount, '-' elsewhere) and the time are evidence.
// SQS bodies, RabbitMQ and Kafka values (base64) and async event ids are ids.
import { appendFileSync } from 'node:fs';

function deliveriesOf(event) {
  if (Array.isArray(event.Records))
    return event.Records.map((r) => [r.body, r.attributes?.ApproximateReceiveCount ?? '-']);
  const groups = event.rmqMessagesByQueue ?? event.records;
  if (groups) {
    return Object.values(groups)
      .flat()
      .map((m) => [Buffer.from(m.data ?? m.value, 'base64').toString('utf8'), '-']);
  }
  return event.id === undefined ? [] : [[event.id, '-']];
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
      deliveries.map(([id, receives]) => `${id} ${gen} ${receives} ${at}\n`).join(''),
    );
  return {};
};
