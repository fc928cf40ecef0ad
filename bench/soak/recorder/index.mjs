// The chaos soak's function: appends the id of every record of the batch it was given (one line
// each) to RECORD_FILE once the batch is done, so the soak can count what was processed at least
// once and how often. SQS bodies, RabbitMQ and Kafka values (base64) and async event ids are ids.
import { appendFileSync } from 'node:fs';

function idsOf(event) {
  if (Array.isArray(event.Records)) return event.Records.map((r) => r.body);
  const groups = event.rmqMessagesByQueue ?? event.records;
  if (groups) {
    return Object.values(groups)
      .flat()
      .map((m) => Buffer.from(m.data ?? m.value, 'base64').toString('utf8'));
  }
  return event.id === undefined ? [] : [event.id];
}

export const handler = async (event) => {
  const ids = idsOf(event);
  const workMs = Number(process.env.WORK_MS || 0);
  if (workMs > 0) await new Promise((resolve) => setTimeout(resolve, workMs));
  // One write per batch: O_APPEND keeps concurrent environments' lines whole.
  if (ids.length > 0) appendFileSync(process.env.RECORD_FILE, ids.map((id) => `${id}\n`).join(''));
  return {};
};
