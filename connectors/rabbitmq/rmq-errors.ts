/**
 * amqplib errors → `SluiceError('CONNECTOR')` plus the health they imply. The one place that reads
 * AMQP reply codes; nothing past the connector sees an amqplib error. Messages name the queue and
 * virtual host, never the URL (it may hold credentials).
 */
import { NETWORK_ERROR_CODES } from '../../src/connectors/network-errors.ts';
import type { ConnectorHealth } from '../../src/connectors/types.ts';
import { SluiceError } from '../../src/errors.ts';

export interface TranslatedRmqError {
  error: SluiceError;
  health: ConnectorHealth;
}

/** AMQP reply code of a server close (`err.code`), or a Node network code. */
function codeOf(error: unknown): string | number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number' || typeof code === 'string') return code;
  const errors = (error as { errors?: unknown } | undefined)?.errors;
  if (Array.isArray(errors)) return errors.map(codeOf).find((c) => c !== undefined);
  return undefined;
}

/**
 * Every failure is retryable (`canRetry`): a queue may be declared later, credentials and vhosts
 * fixed while sluice runs; the runner keeps retrying with back-off and reports the health meanwhile.
 */
export function translateRmqError(
  error: unknown,
  where: { queue: string; virtualHost: string; operation: string },
): TranslatedRmqError {
  const text = redact(error instanceof Error ? error.message : String(error));
  const code = codeOf(error);
  const context = { ...where, amqpCode: code };
  const make = (reason: string, message: string): TranslatedRmqError => ({
    error: new SluiceError('CONNECTOR', message, { context, canRetry: true, cause: error }),
    health: { ok: false, reason, detail: message },
  });
  const q = `queue '${where.queue}' in vhost '${where.virtualHost}'`;

  if (code === 403 || /ACCESS[-_]REFUSED/.test(text)) {
    return make(
      'EVENT_SOURCE_AUTHN_ERROR',
      `RabbitMQ refused the credentials or access for ${q} (${where.operation}): ${text}`,
    );
  }
  if (code === 530 || /NOT[-_]ALLOWED/.test(text)) {
    const missing = /not found/i.test(text);
    return make(
      missing ? 'EVENT_SOURCE_NOT_FOUND' : 'EVENT_SOURCE_AUTHZ_ERROR',
      missing
        ? `RabbitMQ vhost '${where.virtualHost}' does not exist: ${text}`
        : `RabbitMQ denied access to vhost '${where.virtualHost}': ${text}`,
    );
  }
  if (/Expected ConnectionOpenOk/.test(text)) {
    // amqplib drops the reply text of a refused connection.open: the vhost is missing or the user
    // may not use it — the same 530 either way.
    return make(
      'EVENT_SOURCE_AUTHZ_ERROR',
      `RabbitMQ refused vhost '${where.virtualHost}': it does not exist or the user may not use it`,
    );
  }
  if (code === 404 || /NOT[-_]FOUND/.test(text)) {
    return make('EVENT_SOURCE_NOT_FOUND', `RabbitMQ ${q} does not exist: ${text}`);
  }
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) {
    return make('EVENT_SOURCE_UNREACHABLE', `cannot reach RabbitMQ for ${q}: ${code} ${text}`);
  }
  return make('EVENT_SOURCE_ERROR', `RabbitMQ ${where.operation} on ${q} failed: ${text}`);
}

/** Removes `user:password@` from any URL in a message. */
export function redact(text: string): string {
  return text.replace(/(\w+:\/\/)[^/@\s]*@/g, '$1***@');
}
