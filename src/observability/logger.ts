import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Options of the engine's logger (the `logging:` config section). */
export interface LoggerOptions {
  /** pino level; default 'info'. */
  level?: string;
  /** 'json' (default, one JSON object a line) or 'pretty' (human-readable, via pino-pretty). */
  format?: 'json' | 'pretty';
  /** Where JSON lines go; default stdout. Tests pass a stream to read them. */
  destination?: NodeJS.WritableStream;
}

/**
 * Paths that may carry credentials anywhere in a log object. pino replaces them before the line is
 * written, so a secret passed in by mistake still never reaches a log.
 */
export const REDACTED_PATHS = [
  'authToken',
  '*.authToken',
  'password',
  '*.password',
  '*.*.password',
  'secretAccessKey',
  '*.secretAccessKey',
  '*.*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
  'headers.authorization',
  '*.headers.authorization',
];

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = {
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '***' },
    base: { service: 'sluice' },
  };
  if (options.format === 'pretty') {
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' },
      },
    });
  }
  return options.destination
    ? pino(base, options.destination as unknown as pino.DestinationStream)
    : pino(base);
}

/** A logger that writes nothing, for tests and library use without a logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
