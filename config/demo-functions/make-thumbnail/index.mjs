// Demo S3 consumer: MinIO pushes each upload's notification to sluice's S3 trigger, which invokes
// this function asynchronously with Lambda's S3 event. It logs one line per object that the demo
// driver can read: the key decoded the way Lambda functions decode it ('+' is a space).
export const handler = async (event, context) => {
  for (const record of event.Records) {
    const key = decodeURIComponent(record.s3.object.key.replace(/\+/g, ' '));
    console.log(
      `DEMO_S3 function=${context.functionName} event=${record.eventName} bucket=${record.s3.bucket.name} size=${record.s3.object.size} key=${JSON.stringify(key)}`,
    );
  }
  return { thumbnails: event.Records.length };
};
