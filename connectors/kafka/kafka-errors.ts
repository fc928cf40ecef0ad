/**
 * Kafka client errors → `SluiceError('CONNECTOR')` plus the health they imply. The one place that
 * knows kafkajs error names and broker error types; nothing past the connector sees them. Messages
 * name the brokers and the topic, never credentials.
 */
import { NETWORK_ERROR_CODES } from '../../src/connectors/network-errors.ts';
import type { ConnectorHealth } from '../../src/connectors/types.ts';
import { SluiceError } from '../../src/errors.ts';

export interface TranslatedKafkaError {
  error: SluiceError;
  health: ConnectorHealth;
}

const AUTHZ_TYPES = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
]);
const NOT_FOUND_TYPES = new Set(['UNKNOWN_TOPIC_OR_PARTITION']);
/**
 * Node's TLS errors as kafkajs passes them on: an untrusted or self-signed broker certificate, a
 * name mismatch, or an alert from a broker that refused our client certificate.
 */
const TLS_FAILURE =
  /unable to verify the first certificate|unable to get (?:local )?issuer certificate|self[- ]signed certificate[^:]*|certificate has expired|Hostname\/IP does not match certificate's altnames[^:]*|alert (?:bad certificate|certificate required|unknown ca|handshake failure)|wrong version number/i;

/** Error names and broker error types found on the error or its causes. */
function signatures(error: unknown): { names: string[]; types: string[]; text: string } {
  const names: string[] = [];
  const types: string[] = [];
  const texts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    names.push(current.name);
    texts.push(current.message);
    const typed = current as Error & { type?: unknown; code?: unknown; originalError?: unknown };
    if (typeof typed.type === 'string') types.push(typed.type);
    if (typeof typed.code === 'string') types.push(typed.code);
    current = typed.originalError ?? typed.cause;
  }
  return { names, types, text: texts.join(': ') };
}

export function translateKafkaError(
  error: unknown,
  operation: string,
  where: { brokers: string; topic: string },
): TranslatedKafkaError {
  const { names, types, text } = signatures(error);
  const context = { operation, brokers: where.brokers, topic: where.topic, kafkaError: names[0] };
  const make = (message: string, canRetry: boolean, health: ConnectorHealth) => ({
    error: new SluiceError('CONNECTOR', message, { context, canRetry, cause: error }),
    health,
  });
  if (
    names.includes('KafkaJSSASLAuthenticationError') ||
    types.includes('SASL_AUTHENTICATION_FAILED')
  ) {
    const message = `Kafka brokers ${where.brokers} rejected the SASL credentials (${operation})`;
    return make(message, true, { ok: false, reason: 'EVENT_SOURCE_AUTHN_ERROR', detail: message });
  }
  if (types.some((t) => AUTHZ_TYPES.has(t))) {
    const message = `Kafka denied ${operation} on topic ${where.topic}: ${text}`;
    return make(message, true, { ok: false, reason: 'EVENT_SOURCE_AUTHZ_ERROR', detail: message });
  }
  if (types.some((t) => NOT_FOUND_TYPES.has(t)) || names.includes('TopicNotFound')) {
    const message = `PROBLEM: Topic not found: ${where.topic} on ${where.brokers}`;
    // Retryable: the topic may be created after sluice starts.
    return make(message, true, { ok: false, reason: 'EVENT_SOURCE_NOT_FOUND', detail: message });
  }
  // Before the connection check: kafkajs reports a failed TLS handshake as a connection error, but
  // a certificate the broker refuses (mTLS) or one we cannot verify is a credentials problem.
  const tls = TLS_FAILURE.exec(text);
  if (tls) {
    const message = `TLS with Kafka brokers ${where.brokers} failed (${operation}): ${tls[0]}`;
    return make(message, true, { ok: false, reason: 'EVENT_SOURCE_AUTHN_ERROR', detail: message });
  }
  if (
    names.some((n) => n === 'KafkaJSConnectionError' || n === 'KafkaJSBrokerNotFound') ||
    types.some((t) => NETWORK_ERROR_CODES.has(t)) ||
    /ECONNREFUSED|ENOTFOUND|Connection timeout|connect ETIMEDOUT/.test(text)
  ) {
    const message = `PROBLEM: Connection error. Cannot reach Kafka brokers ${where.brokers} (${operation})`;
    return make(message, true, { ok: false, reason: 'EVENT_SOURCE_UNREACHABLE', detail: message });
  }
  const message = `Kafka ${operation} failed for topic ${where.topic}: ${text}`;
  return make(message, true, { ok: false, reason: 'EVENT_SOURCE_ERROR', detail: message });
}

/** A missing topic found by metadata (no error raised: the topic list came back without it). */
export function topicNotFound(where: { brokers: string; topic: string }): TranslatedKafkaError {
  const message = `PROBLEM: Topic not found: ${where.topic} on ${where.brokers}`;
  return {
    error: new SluiceError('CONNECTOR', message, {
      context: { brokers: where.brokers, topic: where.topic },
      canRetry: true,
    }),
    health: { ok: false, reason: 'EVENT_SOURCE_NOT_FOUND', detail: message },
  };
}
