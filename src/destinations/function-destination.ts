import { randomUUID } from 'node:crypto';
import type { AsyncInvokeSink } from '../lambda/async-invocation.ts';
import type { Destination, DestinationMessage } from './destination.ts';

/**
 * Another sluice function as a destination: the record is invoked asynchronously through the
 * durable queue (Lambda does the same for a function destination). The message id becomes the
 * idempotency key, so a delivery retried while the first copy is still queued is not doubled.
 */
export class FunctionDestination implements Destination {
  readonly description: string;
  readonly #sink: AsyncInvokeSink;
  readonly #functionName: string;

  constructor(sink: AsyncInvokeSink, functionName: string) {
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
