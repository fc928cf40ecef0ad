/**
 * The receive side of the SQS connector: long polls on the connector's own client, each with a
 * request timeout so a hung endpoint shows, and receives the caller gave up on cut after a short
 * grace so they never hold a socket for a whole long poll.
 */
import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { ConnectorHealth } from '../../src/connectors/types.ts';
import { SluiceError } from '../../src/errors.ts';
import { receiveTimeoutMs, waitTimeSeconds } from './sqs-visibility.ts';

/**
 * How long a receive whose caller gave up may still finish (and have what it brings released)
 * before it is cut. Short: a given-up long poll on an idle queue would otherwise hold its socket
 * for up to 20 s, and while traffic flows a poll returns at its first message, well within it.
 */
export const LATE_RECEIVE_GRACE_MS = 1000;

export interface ReceiverOptions {
  client: SQSClient;
  queueUrl: string;
  receiveTimeoutMarginMs: number;
  requestTimeoutMs: number;
  now: () => number;
  /** Makes what a given-up receive brought visible again. */
  release: (receiptHandles: string[]) => Promise<void>;
}

export interface OpenReceive {
  /** Rejects with a retryable `SluiceError('CONNECTOR')` when the endpoint does not answer. */
  messages: Promise<Message[]>;
  /** The caller no longer waits: release what comes within the grace, then cut the poll. */
  giveUp(): void;
}

interface Pending {
  startedMs: number;
  timeoutMs: number;
  givenUp: boolean;
}

export class SqsReceiver {
  readonly #o: ReceiverOptions;
  readonly #open = new Set<Pending>();
  readonly #late = new Set<Promise<unknown>>();
  #lastAnswerMs: number | undefined;
  /** Set by a receive that timed out; cleared by the next receive the endpoint answers. */
  #noAnswer: ConnectorHealth | undefined;

  constructor(options: ReceiverOptions) {
    this.#o = options;
  }

  receive(size: number, waitMs: number): OpenReceive {
    const waitSeconds = waitTimeSeconds(waitMs);
    const pending: Pending = {
      startedMs: this.#o.now(),
      timeoutMs: receiveTimeoutMs(waitSeconds, this.#o),
      givenUp: false,
    };
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, pending.timeoutMs);
    this.#open.add(pending);
    const messages = this.#o.client
      .send(
        new ReceiveMessageCommand({
          QueueUrl: this.#o.queueUrl,
          MaxNumberOfMessages: size,
          WaitTimeSeconds: waitSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: abort.signal },
      )
      .then(
        (out) => {
          this.#answered();
          return out.Messages ?? [];
        },
        (error: unknown) => {
          if (timedOut && !pending.givenUp) throw this.#timedOut(pending, error);
          // Refused, reset, an error response: the connector's translated health says why.
          if (!abort.signal.aborted) this.#noAnswer = undefined;
          throw error;
        },
      )
      .finally(() => {
        clearTimeout(timer);
        this.#open.delete(pending);
      });
    return { messages, giveUp: () => this.#giveUp(pending, messages, abort) };
  }

  /**
   * Not ok while the endpoint does not answer: a receive timed out and none was answered since,
   * or one still waits past its timeout (the timer not having fired yet). Undefined = the polls
   * have nothing to say (the connector's own health stands).
   */
  health(): ConnectorHealth | undefined {
    if (this.#noAnswer) return { ...this.#noAnswer };
    const now = this.#o.now();
    for (const pending of this.#open) {
      if (!pending.givenUp && now - pending.startedMs > pending.timeoutMs) {
        return this.#noAnswerHealth(pending, now);
      }
    }
    return undefined;
  }

  /** Waits for the given-up receives: each is cut at most the grace after it was given up. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#late]);
  }

  #giveUp(pending: Pending, messages: Promise<Message[]>, abort: AbortController): void {
    if (pending.givenUp) return;
    pending.givenUp = true;
    // Cutting at once would hide whatever the broker hands to the closed connection for a whole
    // visibility timeout (ElasticMQ and SQS keep the poll running server-side), so a disabled or
    // updated mapping would seem to swallow messages. Waiting out the poll would hold a socket for
    // up to 20 s. The grace is the trade-off: a message handed to a poll cut after it stays hidden
    // one visibility timeout (nothing is lost; it comes back then).
    const grace = setTimeout(() => abort.abort(), LATE_RECEIVE_GRACE_MS);
    const late = messages
      .then((received) => this.#o.release(received.flatMap((m) => m.ReceiptHandle ?? [])))
      // Nobody awaits `late` but drain(), so a rejection here (a refused release) would be an
      // unhandled rejection that ends the process. A failed release loses nothing: the messages
      // come back after their visibility timeout.
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(grace);
        this.#late.delete(late);
      });
    this.#late.add(late);
  }

  #answered(): void {
    this.#lastAnswerMs = this.#o.now();
    this.#noAnswer = undefined;
  }

  #timedOut(pending: Pending, cause: unknown): SluiceError {
    const health = this.#noAnswerHealth(pending, this.#o.now());
    this.#noAnswer = health;
    return new SluiceError('CONNECTOR', health.detail ?? 'no answer from SQS', {
      context: { operation: 'ReceiveMessage', queueUrl: this.#o.queueUrl },
      canRetry: true,
      cause,
    });
  }

  #noAnswerHealth(pending: Pending, nowMs: number): ConnectorHealth {
    return noAnswerHealth({
      queueUrl: this.#o.queueUrl,
      waitedMs: nowMs - pending.startedMs,
      timeoutMs: pending.timeoutMs,
      lastAnswerMs: this.#lastAnswerMs,
    });
  }
}

/** Lambda's code for a source it cannot reach, with how long the receive went unanswered. */
export function noAnswerHealth(o: {
  queueUrl: string;
  waitedMs: number;
  timeoutMs: number;
  lastAnswerMs: number | undefined;
}): ConnectorHealth {
  const seconds = (ms: number) => Math.round(ms / 100) / 10;
  const last =
    o.lastAnswerMs === undefined
      ? 'no successful poll yet'
      : `last successful poll at ${new Date(o.lastAnswerMs).toISOString()}`;
  return {
    ok: false,
    reason: 'EVENT_SOURCE_UNREACHABLE',
    detail:
      `no answer from ${o.queueUrl} for ${seconds(o.waitedMs)} s ` +
      `(ReceiveMessage timeout ${seconds(o.timeoutMs)} s; ${last})`,
  };
}
