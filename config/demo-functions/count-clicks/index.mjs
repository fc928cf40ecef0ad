// Demo Kafka consumer: counts clicks per page in a SelfManagedKafka batch (records keyed
// "<topic>-<partition>", values base64) and logs one line per batch.
export const handler = async (event) => {
  const pages = {};
  let count = 0;
  for (const records of Object.values(event.records)) {
    for (const record of records) {
      const click = JSON.parse(Buffer.from(record.value, 'base64').toString('utf8'));
      pages[click.page] = (pages[click.page] ?? 0) + 1;
      count += 1;
    }
  }
  console.log(`DEMO_KAFKA size=${count} pages=${Object.keys(pages).length}`);
  return {};
};
