// Error types and serialisation of sluice's Node runtime, named and shaped like AWS's Node runtime
// interface client so callers see the same `errorType` values they would on Lambda.

function runtimeError(name) {
  const cls = class extends Error {};
  Object.defineProperty(cls, 'name', { value: name });
  cls.prototype.name = `Runtime.${name}`;
  return cls;
}

export const MalformedHandlerName = runtimeError('MalformedHandlerName');
export const HandlerNotFound = runtimeError('HandlerNotFound');

/** Wraps a module-loading failure; the message is the original error's string form, like AWS. */
export class ImportModuleError extends Error {
  constructor(original) {
    super(String(original));
    this.name = 'Runtime.ImportModuleError';
  }
}

export class UserCodeSyntaxError extends Error {
  constructor(original) {
    super(String(original));
    this.name = 'Runtime.UserCodeSyntaxError';
    if (original && typeof original.stack === 'string') this.stack = original.stack;
  }
}

export class UnhandledPromiseRejection extends Error {
  constructor(reason) {
    super(reason === undefined ? 'undefined' : String(reason));
    this.name = 'Runtime.UnhandledPromiseRejection';
  }
}

/** A result JSON.stringify cannot encode (circular, BigInt): AWS's newer client uses this type. */
export class JSONStringifyError extends Error {
  constructor() {
    super('Unable to stringify response body');
    this.name = 'Runtime.JSONStringifyError';
  }
}

/** The body posted to `/error` and `/init/error`: `{errorType, errorMessage, trace}`. */
export function toRapidResponse(error) {
  try {
    if (error instanceof Error || isErrorLike(error)) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      trace: [],
    };
  }
}

function isErrorLike(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof value.name === 'string' &&
    typeof value.message === 'string' &&
    typeof value.stack === 'string'
  );
}

/** One-line JSON of an error with its enumerable fields, as AWS logs uncaught errors. */
export function toFormatted(error) {
  try {
    return (
      '\t' +
      JSON.stringify(error, (_key, value) => {
        if (!(value instanceof Error)) return value;
        const out = { errorType: value.name, errorMessage: value.message, code: value.code };
        Object.assign(out, value);
        if (typeof value.stack === 'string') out.stack = value.stack.split('\n');
        return out;
      })
    );
  } catch {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}
