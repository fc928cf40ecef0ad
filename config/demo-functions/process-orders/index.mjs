// Demo SQS consumer: sums the order amounts of a batch and logs each record's latency (time from
// send to invoke) on one line that the demo driver reads for its summary.
export const handler = async (event, context) => {
  const now = Date.now();
  let total = 0;
  const latencies = [];
  for (const record of event.Records) {
    const order = JSON.parse(record.body);
    total += order.amount;
    latencies.push(now - order.sentAt);
  }
  console.log(
    `DEMO_BATCH function=${context.functionName} size=${event.Records.length} total=${total} latencies=${latencies.join(',')}`,
  );
  return { batchItemFailures: [] };
};
