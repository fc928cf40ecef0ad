// Example Kafka consumer for config/sluice.yaml: counts the records of a batch.
export const handler = async (event) => ({
  count: Object.values(event.records).reduce((sum, records) => sum + records.length, 0),
});
