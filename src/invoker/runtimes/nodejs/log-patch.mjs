// console.* of sluice's Node runtime, as AWS's Node runtime patches them: one record per line on
// stdout — `ISO\trequestId\tLEVEL\tmessage` (Text) or `{timestamp, level, requestId, message}`
// (JSON, when AWS_LAMBDA_LOG_FORMAT=JSON) — and levels below AWS_LAMBDA_LOG_LEVEL dropped. The
// variables are read when the console is patched (after a warm spare got its function's env).
import { util } from './builtins.mjs';
import { toFormatted } from './runtime-errors.mjs';

const PRIORITY = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
const METHODS = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  log: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'FATAL',
};

let json = false;

/** @param requestId returns the request id of the invoke in flight (undefined during init) */
export function patchConsole(env, requestId) {
  json = env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON';
  const configured = PRIORITY[env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase()] ?? PRIORITY.TRACE;
  for (const [method, level] of Object.entries(METHODS)) {
    console[method] =
      PRIORITY[level] < configured
        ? () => undefined
        : (...args) =>
            write(
              json
                ? jsonLine(level, requestId(), args)
                : textLine(method, level, requestId(), args),
            );
  }
}

/** AWS's line for a failed invoke: `Invoke Error \t{errorType, errorMessage, stack…}` in Text. */
export function logInvokeError(error) {
  const asError = error instanceof Error ? error : new Error(String(error));
  if (json) console.error(asError);
  else console.error('Invoke Error', toFormatted(asError));
}

function write(line) {
  process.stdout.write(`${line.replace(/\n/g, '\r')}\n`);
}

function textLine(method, level, requestId, args) {
  let message = util.format(...args);
  if (method === 'trace')
    message += '\n' + (new Error().stack ?? '').split('\n').slice(3).join('\n');
  return `${new Date().toISOString()}\t${requestId}\t${level}\t${message}`;
}

/**
 * AWS's JSON record: a single argument is kept as a JSON value (an Error becomes
 * `{errorType, errorMessage, stackTrace}`); several are formatted to one string, and the first
 * Error among them adds its fields to the record.
 */
function jsonLine(level, requestId, [message, ...params]) {
  const record = { timestamp: new Date().toISOString(), level, requestId };
  if (params.length === 0) {
    record.message = message;
    try {
      return JSON.stringify(record, errorReplacer);
    } catch {
      record.message = util.format(message);
      return JSON.stringify(record);
    }
  }
  record.message = util.format(message, ...params);
  const error = params.find((p) => p instanceof Error);
  if (error) {
    record.errorType = error.constructor?.name ?? 'UnknownError';
    record.errorMessage = error.message;
    record.stackTrace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
  }
  return JSON.stringify(record);
}

function errorReplacer(_key, value) {
  if (!(value instanceof Error)) return value;
  return Object.assign(
    {
      errorType: value.constructor?.name ?? 'UnknownError',
      errorMessage: value.message,
      stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
    },
    value,
  );
}
