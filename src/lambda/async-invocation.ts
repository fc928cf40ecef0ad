/**
 * Lambda's asynchronous invocation (`InvocationType: Event`) as the rest of sluice hands it over:
 * one interface for every producer — the Invoke API, push triggers and function destinations —
 * and one implementation, the durable queue (async/async-queue.ts).
 */

/** One asynchronous invocation. */
export interface AsyncInvocation {
  functionName: string;
  payload: Buffer;
  requestId: string;
  /** X-Ray trace header the invoke runs under (kept across retries); default a new one per attempt. */
  traceId?: string;
  /** While an invocation with this key is queued, another with the same key is ignored. */
  idempotencyKey?: string;
}

/**
 * Accepts an asynchronous invocation durably: `enqueue` resolves only once it is stored, so the
 * 202 (or the acknowledgement to a pusher) is a promise kept. Refuses with a throttle when full.
 */
export interface AsyncInvokeSink {
  enqueue(invocation: AsyncInvocation): Promise<void>;
}

/** A sink that also tells how many invocations wait (push triggers shed load on it). */
export interface AsyncInvokeQueue extends AsyncInvokeSink {
  depth(): Promise<number>;
}
