import { randomUUID } from 'node:crypto';
import type { AsyncInvokeSink } from '../api/invoke-route.ts';
import type { Destination, DestinationMessage } from './destination.ts';

/** The queue's enqueue, with the idempotency key the function destination uses. */
export interface IdempotentAsyncSink extends AsyncInvokeSink {
  enqueue(input: {
    functionName: string;
    payload: Buffer;
    requestId: string;
    idempotencyKey?: string;
  }): Promise<void>;
}

/**
 * Another sluice function as a destination: the record is invoked asynchronously through the
 * durable queue (Lambda does the same for a function destination). The message id becomes the
 * idempotency key, so a delivery retried while the first copy is still queued is not doubled.
 */
export class FunctionDestination implements Destination {
  readonly description: string;
  readonly #sink: IdempotentAsyncSink;
  readonly #functionName: string;

  constructor(sink: IdempotentAsyncSink, functionName: string) {
    this.#sink = sink;
    this.#functionName = functionName;
    this.description = `function:${functionName}`;
  }

  async send(message: DestinationMessage): Promise<void> {
    await this.#sink.enqueue({
      functionName: this.#functionName,
      payload: Buffer.from(message.body, 'utf8'),
      requestId: randomUUID(),
      ...(message.id ? { idempotencyKey: `destination:${message.id}` } : {}),
    });
  }

  async stop(): Promise<void> {}
}
