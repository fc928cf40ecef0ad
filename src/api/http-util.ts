import type { IncomingMessage, ServerResponse } from 'node:http';
import { LambdaApiError } from './lambda-errors.ts';

/**
 * Requests that sent `Expect: 100-continue` and have not been invited to send their body yet:
 * `readBody` sends the `100 Continue` only once the body's size is known to be acceptable.
 */
const awaitingContinue = new WeakMap<IncomingMessage, ServerResponse>();

export function deferContinue(req: IncomingMessage, res: ServerResponse): void {
  awaitingContinue.set(req, res);
}

/** True while a `100-continue` request has not been invited to send its body. */
export function bodyNeverInvited(req: IncomingMessage): boolean {
  return awaitingContinue.has(req);
}

/**
 * Reads a request body up to `limitBytes`, throwing a 413 `RequestTooLargeException` over it.
 * A body whose `Content-Length` is already over the limit is not read at all: the 413 goes out at
 * once and closes the connection (reading megabytes only to refuse them would hand a client the
 * server's bandwidth and time). A body that turns out too large while streaming (chunked) is
 * drained, so the connection stays usable.
 */
export async function readBody(
  req: IncomingMessage,
  limitBytes: number,
  what = 'Request',
): Promise<Buffer> {
  const tooLarge = (headers: Record<string, string> = {}) =>
    new LambdaApiError(
      'RequestTooLargeException',
      `${what} must be smaller than ${limitBytes} bytes for the InvokeFunction operation`,
      {},
      headers,
    );
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limitBytes) throw tooLarge({ Connection: 'close' });
  awaitingContinue.get(req)?.writeContinue();
  awaitingContinue.delete(req);
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (over) continue;
    size += chunk.length;
    if (size > limitBytes) over = true;
    else chunks.push(chunk);
  }
  if (over) throw tooLarge();
  return Buffer.concat(chunks, size);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(
  res: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Length': 0, ...headers });
  res.end();
}

export function sendLambdaError(res: ServerResponse, err: LambdaApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.status, err.body(), {
    'x-amzn-ErrorType': err.errorName,
    'x-amzn-RequestId': crypto.randomUUID(),
    ...err.headers,
  });
}

/** Parses a JSON request body for a management route, with Lambda's error on bad JSON. */
export async function readJson(req: IncomingMessage, limitBytes = 256 * 1024): Promise<unknown> {
  const body = await readBody(req, limitBytes);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new LambdaApiError(
      'InvalidRequestContentException',
      'Could not parse request body into json',
    );
  }
}
