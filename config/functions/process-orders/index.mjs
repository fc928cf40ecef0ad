// Example SQS consumer for config/sluice.yaml: reports no failures.
export const handler = async (event) => ({ batchItemFailures: [], count: event.Records.length });
