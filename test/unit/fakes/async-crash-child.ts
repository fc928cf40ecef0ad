/**
 * A stand-in engine for the kill -9 test: opens the store at argv[2], optionally enqueues argv[3]
 * events, and drains the queue with fake environments, appending each completed request id to
 * argv[4]. Prints "enqueued" once every event is committed, "drained" when the queue is empty.
 */
import { appendFileSync } from 'node:fs';
import { asyncConfig, createHarness } from './async-harness.ts';

const [path, count, log] = process.argv.slice(2) as [string, string, string];
const h = createHarness({
  path,
  configs: { f: asyncConfig() },
  limits: { engineLimit: 20, reserved: {}, minimumUnreserved: 10 },
  handler: async (req) => {
    await new Promise((r) => setTimeout(r, 2));
    appendFileSync(log, `${req.requestId}\n`);
    return null;
  },
});
for (let i = 0; i < Number(count); i++) {
  await h.queue.enqueue({
    functionName: 'f',
    payload: Buffer.from(`{"i":${i}}`),
    requestId: `k-${i}`,
  });
}
process.stdout.write('enqueued\n');
await h.worker.start();
const timer = setInterval(() => {
  void h.queue.depth().then((d) => {
    if (d > 0) return;
    clearInterval(timer);
    process.stdout.write('drained\n');
    void h.worker.stop().then(() => h.store.close());
  });
}, 20);
