// sluice's Node.js runtime: a Runtime API client in plain JS with no dependencies, behaving like
// AWS's Node runtime (handler loading, context, console format, error shapes, callback handlers).
// Kept small and lazy because every cold start pays for what this file imports.
import { net } from './builtins.mjs';
import { loadHandler } from './handler-loader.mjs';
import { logInvokeError, patchConsole } from './log-patch.mjs';
import { createRuntimeClient } from './runtime-client.mjs';
import {
  JSONStringifyError,
  UnhandledPromiseRejection,
  toFormatted,
  toRapidResponse,
} from './runtime-errors.mjs';

const env = process.env;
// A warm spare (spare-processes.ts) has paid Node's start-up and this file's imports before any
// function exists; it learns which function it runs here, then goes on like any runtime. The
// marker is an argument, not a variable a function could declare, and is removed from argv.
if (process.argv[2] === '--sluice-spare') {
  process.argv.splice(2, 1);
  await awaitAssignment();
}
const client = createRuntimeClient(env.AWS_LAMBDA_RUNTIME_API ?? '127.0.0.1:9001');
const BASE = '/2018-06-01/runtime';
const NEXT_PATH = `${BASE}/invocation/next`;
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';

/** Request id of the invoke in flight (printed on console lines; `undefined` during init). */
let currentRequestId;
/** Settles the invoke in flight; undefined between invokes. */
let currentFinish;
/** Run when the event loop empties during an invoke (callback handlers). */
let beforeExitAction;
let initialising = true;

patchConsole(env, () => currentRequestId);
process.on('uncaughtException', (error) => {
  console.error('Uncaught Exception', toFormatted(error));
  fail(error);
});
process.on('unhandledRejection', (reason) => {
  const error = new UnhandledPromiseRejection(reason);
  console.error('Unhandled Promise Rejection', toFormatted(error));
  fail(error);
});
process.on('beforeExit', () => {
  const action = beforeExitAction;
  beforeExitAction = undefined;
  if (action) action();
});

let handler;
try {
  handler = await loadHandler(env.LAMBDA_TASK_ROOT ?? process.cwd(), env._HANDLER ?? '');
} catch (error) {
  console.error(toFormatted(error));
  await postInitError(error);
  process.exit(129);
}
initialising = false;
void nextInvocation();

/**
 * Waits on fd 3 for one JSON line `{env, cwd}`, makes `env` the whole of process.env (the spare's
 * own variables are deleted) and moves to `cwd`. The engine closing fd 3 first means it is gone
 * (or killed the spare): exit quietly. fd 3 is closed afterwards so the function's process looks
 * like a normally started one (stdin /dev/null, no extra handle keeping the event loop alive).
 */
function awaitAssignment() {
  const channel = new net.Socket({ fd: 3, readable: true, writable: true });
  return new Promise((resolve) => {
    let received = Buffer.alloc(0);
    channel.on('error', () => process.exit(0));
    channel.on('end', () => process.exit(0));
    channel.on('data', (chunk) => {
      // Bytes, not text, until the whole line is in: a chunk may end inside a UTF-8 character.
      received = Buffer.concat([received, chunk]);
      const newline = received.indexOf(10);
      if (newline < 0) return;
      channel.removeAllListeners();
      channel.on('error', () => undefined);
      channel.destroy();
      const { env: assigned, cwd } = JSON.parse(received.subarray(0, newline).toString('utf8'));
      for (const key of Object.keys(env)) if (!Object.hasOwn(assigned, key)) delete env[key];
      Object.assign(env, assigned);
      process.chdir(cwd);
      resolve();
    });
    channel.write('ready\n');
  });
}

/** A fatal error: reported on the invoke in flight (or as init error), then the process exits. */
function fail(error) {
  if (initialising) {
    void postInitError(error).finally(() => process.exit(129));
  } else if (currentFinish) {
    currentFinish(error, undefined, () => process.exit(129));
  } else {
    process.exit(129);
  }
}

/** @param pendingNext the next-invocation request already sent with the last result, if any */
async function nextInvocation(pendingNext) {
  const next = await (pendingNext ?? call('GET', NEXT_PATH));
  const headers = next.headers;
  const requestId = headers['lambda-runtime-aws-request-id'];
  const deadlineMs = Number(headers['lambda-runtime-deadline-ms']);
  if (headers['lambda-runtime-trace-id']) env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
  else delete env._X_AMZN_TRACE_ID;
  currentRequestId = requestId;

  let done = false;
  const finish = (error, result, after) => {
    if (done) return;
    done = true;
    // A handler's error (not a fatal one, already logged as Uncaught Exception) is logged as AWS's
    // runtime does, so it shows in Tail logs and the function's log.
    if (error !== null && error !== undefined && !after) logInvokeError(error);
    beforeExitAction = undefined;
    currentFinish = undefined;
    if (after) void postResult(requestId, error, result).then(after);
    else void nextInvocation(postResultThenNext(requestId, error, result));
  };
  currentFinish = finish;

  let event;
  try {
    event = JSON.parse(next.body.toString('utf8'));
  } catch (error) {
    finish(error);
    return;
  }
  const context = buildContext(headers, requestId, deadlineMs, finish);
  // A handler that neither returns a promise nor calls back ends with `null` once the event loop
  // is empty, as on Lambda.
  beforeExitAction = () => finish(null, null);
  const callback = (error, result) => {
    if (context.callbackWaitsForEmptyEventLoop) {
      beforeExitAction = () => finish(error, result);
    } else {
      finish(error, result);
    }
  };
  let returned;
  try {
    returned = handler(event, context, callback);
  } catch (error) {
    finish(error);
    return;
  }
  if (returned && typeof returned.then === 'function') {
    returned.then(
      (result) => finish(null, result),
      (error) => finish(error ?? new Error('Handler rejected with ' + String(error))),
    );
  }
}

function buildContext(headers, requestId, deadlineMs, finish) {
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: requestId,
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parseJsonHeader(headers['lambda-runtime-client-context']),
    identity: parseJsonHeader(headers['lambda-runtime-cognito-identity']),
    // AWS's Node runtime client exposes the invoke's X-Ray header here too (and in the variable).
    xRayTraceId: headers['lambda-runtime-trace-id'],
    getRemainingTimeInMillis: () => deadlineMs - Date.now(),
    // Legacy completion methods still found in older handlers.
    done: (error, result) => finish(error, result),
    succeed: (result) => finish(null, result),
    fail: (error) => finish(error ?? new Error('handled')),
  };
  return context;
}

function parseJsonHeader(value) {
  if (!value) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** The result as a Runtime API post: `[path, body, headers]`. */
function resultRequest(requestId, error, result) {
  const path = `${BASE}/invocation/${encodeURIComponent(requestId)}`;
  if (error !== null && error !== undefined) {
    const body = toRapidResponse(error);
    return [`${path}/error`, JSON.stringify(body), { [ERROR_TYPE_HEADER]: body.errorType }];
  }
  try {
    return [`${path}/response`, JSON.stringify(result === undefined ? null : result) ?? 'null'];
  } catch {
    const failure = toRapidResponse(new JSONStringifyError());
    return [`${path}/error`, JSON.stringify(failure), { [ERROR_TYPE_HEADER]: failure.errorType }];
  }
}

/** Posts the result; the process is about to exit, so no next invocation is asked for. */
async function postResult(requestId, error, result) {
  const [path, body, headers] = resultRequest(requestId, error, result);
  await call('POST', path, body, headers);
}

/** Posts the result and asks for the next invocation in one write; returns the next's promise. */
function postResultThenNext(requestId, error, result) {
  const [path, body, headers] = resultRequest(requestId, error, result);
  const [posted, next] = client.postThenNext(path, body, headers, NEXT_PATH);
  const nextOrExit = next.catch((error) => apiGone('GET', NEXT_PATH, error));
  return posted.then(
    () => nextOrExit,
    (error) => apiGone('POST', path, error),
  );
}

async function postInitError(error) {
  const body = toRapidResponse(error);
  try {
    await call('POST', `${BASE}/init/error`, JSON.stringify(body), {
      [ERROR_TYPE_HEADER]: body.errorType,
    });
  } catch {
    // The environment learns of the failure from the exit anyway.
  }
}

/** One call to the Runtime API; a broken API means the environment is gone, so exit. */
function call(method, path, body, headers) {
  return client.call(method, path, body, headers).catch((error) => apiGone(method, path, error));
}

function apiGone(method, path, error) {
  process.stderr.write(`sluice runtime: Runtime API ${method} ${path} failed: ${error.message}\n`);
  process.exit(1);
}
