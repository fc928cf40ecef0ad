import pRetry from 'p-retry';
import type { Logger } from 'pino';
import type { AsyncConfig, DestinationConfig } from '../config/types.ts';
import type { Destination } from '../destinations/destination.ts';
import type { EngineMetrics } from '../observability/metrics.ts';
import {
  buildDeadLetterMessage,
  buildInvocationRecord,
  DEAD_LETTER_ATTRIBUTE_TYPES,
  type AttemptResponse,
} from './invocation-record.ts';
import type { InvocationCondition } from './retry-policy.ts';

export type DeliveryRole = 'onSuccess' | 'onFailure' | 'deadLetter';

/** One message owed to a destination; kept on the queue row until it is accepted. */
export interface PendingDelivery {
  role: DeliveryRole;
  body: string;
  attributes?: Record<string, string>;
  key: string;
  /** `<requestId>:<role>`: the same on every retry, so deduplicating targets can drop repeats. */
  id: string;
}

export interface FinishedEvent {
  functionName: string;
  functionArn: string;
  requestId: string;
  payload: Buffer;
  condition: InvocationCondition;
  approximateInvokeCount: number;
  response: AttemptResponse | undefined;
  nowMs: number;
}

/** Pure: what a finished event owes its destinations under `config`. */
export function planDeliveries(event: FinishedEvent, config: AsyncConfig): PendingDelivery[] {
  const out: PendingDelivery[] = [];
  const success = event.condition === 'Success';
  const recordTarget = success ? config.onSuccess : config.onFailure;
  if (recordTarget) {
    const role: DeliveryRole = success ? 'onSuccess' : 'onFailure';
    const record = buildInvocationRecord({
      requestId: event.requestId,
      functionArn: event.functionArn,
      condition: event.condition,
      approximateInvokeCount: event.approximateInvokeCount,
      requestPayload: event.payload,
      response: event.response,
      nowMs: event.nowMs,
    });
    out.push({
      role,
      body: JSON.stringify(record),
      key: event.requestId,
      id: `${event.requestId}:${role}`,
    });
  }
  if (!success && config.deadLetter) {
    const dl = buildDeadLetterMessage(event.requestId, event.payload, event.response);
    out.push({
      role: 'deadLetter',
      body: dl.body,
      attributes: dl.attributes,
      key: event.requestId,
      id: `${event.requestId}:deadLetter`,
    });
  }
  return out;
}

export interface DeliverySenderOptions {
  destinations: { get(config: DestinationConfig): Destination };
  logger: Logger;
  metrics?: EngineMetrics;
  /** Quick in-line retries of one send (p-retry); later ones are the queue's. Default 2. */
  retries?: number;
  /** First in-line retry delay; doubles up to `maxTimeoutMs`. Default 200 ms. */
  minTimeoutMs?: number;
  /** Default 2000 ms. */
  maxTimeoutMs?: number;
}

/**
 * Sends owed deliveries, each with a few quick retries. What still fails is returned, and the
 * worker keeps it on the queue row for a later try: a destination that cannot be reached never
 * loses the event. Every failed attempt is counted (Lambda's DestinationDeliveryFailures /
 * DeadLetterErrors).
 */
export class DeliverySender {
  readonly #o: DeliverySenderOptions;

  constructor(options: DeliverySenderOptions) {
    this.#o = options;
  }

  async send(
    functionName: string,
    config: AsyncConfig,
    deliveries: readonly PendingDelivery[],
    signal?: AbortSignal,
  ): Promise<PendingDelivery[]> {
    const remaining: PendingDelivery[] = [];
    await Promise.all(
      deliveries.map(async (d) => {
        // The config at delivery time decides the target: a destination removed meanwhile is
        // no longer owed anything.
        const target = config[d.role];
        if (!target) return;
        const destination = this.#o.destinations.get(target);
        try {
          await pRetry(
            () =>
              destination.send({
                body: d.body,
                key: d.key,
                id: d.id,
                ...(d.attributes ? { attributes: d.attributes } : {}),
                // Derived from the role, not stored on the row: rows queued before still get it.
                ...(d.role === 'deadLetter' ? { attributeTypes: DEAD_LETTER_ATTRIBUTE_TYPES } : {}),
              }),
            {
              retries: this.#o.retries ?? 2,
              minTimeout: this.#o.minTimeoutMs ?? 200,
              maxTimeout: this.#o.maxTimeoutMs ?? 2000,
              randomize: true,
              unref: true,
              ...(signal ? { signal } : {}),
              onFailedAttempt: ({ error }) => this.#count(functionName, d.role, destination, error),
            },
          );
        } catch {
          remaining.push(d);
        }
      }),
    );
    return remaining;
  }

  #count(functionName: string, role: DeliveryRole, destination: Destination, error: Error): void {
    const { metrics, logger } = this.#o;
    if (role === 'deadLetter') metrics?.deadLetterErrors.inc({ function: functionName });
    else metrics?.destinationDeliveryFailures.inc({ function: functionName, role });
    logger.warn(
      { function: functionName, role, destination: destination.description, error: error.message },
      'destination delivery failed',
    );
  }
}
