// Example RabbitMQ / S3 consumer for config/sluice.yaml.
export const handler = async (event) => ({ ok: true, source: event.eventSource ?? 'aws:s3' });
