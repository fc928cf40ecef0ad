import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Invoker } from '../invoker/invoker.ts';
import { invokeTraceHeader } from '../lambda/trace-id.ts';
import type { AsyncInvokeSink } from '../lambda/async-invocation.ts';
import type { InvokeResult } from '../invoker/types.ts';
import { functionArn } from '../lambda/arn.ts';
import { parseFunctionName } from './function-name.ts';
import { readBody, sendEmpty } from './http-util.ts';
import { LambdaApiError } from './lambda-errors.ts';

/** Lambda's payload limits. */
export const SYNC_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;
export const ASYNC_PAYLOAD_LIMIT_BYTES = 1024 * 1024;
/** X-Amz-Log-Result carries the last 4 KB of the invoke's log. */
const LOG_TAIL_BYTES = 4096;
const CLIENT_CONTEXT_LIMIT_BYTES = 3583;

export interface InvokeRouteDeps {
  invoker: Invoker;
  region: string;
  accountId: string;
  asyncSink?: AsyncInvokeSink;
}

type InvocationType = 'RequestResponse' | 'Event' | 'DryRun';

/**
 * Payloads are JSON whatever the header says (the JS SDK sends application/octet-stream, curl
 * sends form encoding); only media that cannot be a JSON document are refused with 415.
 */
const REFUSED_MEDIA = /^(multipart|image|audio|video|font)\//;

/** POST /2015-03-31/functions/{FunctionName}/invocations */
export async function handleInvoke(
  deps: InvokeRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  rawName: string,
  query: URLSearchParams,
): Promise<void> {
  const ref = parseFunctionName(rawName, query.get('Qualifier') ?? undefined);
  const arn = functionArn(deps.region, deps.accountId, ref.name, ref.qualifier);
  const spec = deps.invoker.functionSpec(ref.name);
  if (!spec || (ref.qualifier !== undefined && ref.qualifier !== '$LATEST')) {
    throw new LambdaApiError('ResourceNotFoundException', `Function not found: ${arn}`);
  }
  const type = invocationType(req.headers['x-amz-invocation-type']);
  const media =
    String(req.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim()
      .toLowerCase() ?? '';
  if (REFUSED_MEDIA.test(media)) {
    throw new LambdaApiError('UnsupportedMediaTypeException', `Unsupported content type: ${media}`);
  }
  const body = await readBody(
    req,
    type === 'Event' ? ASYNC_PAYLOAD_LIMIT_BYTES : SYNC_PAYLOAD_LIMIT_BYTES,
    type === 'Event' ? 'Request payload for an asynchronous invoke' : 'Request payload',
  );
  const payload = validPayload(body);
  const requestId = crypto.randomUUID();
  // The caller's X-Ray header (a traced caller's trace goes on in the function), else a new one.
  const traceId = invokeTraceHeader(headerValue(req.headers['x-amzn-trace-id']));

  if (type === 'DryRun') {
    sendEmpty(res, 204, { 'x-amzn-RequestId': requestId });
    return;
  }
  if (type === 'Event') {
    if (!deps.asyncSink) {
      throw new LambdaApiError('ServiceException', 'Asynchronous invocation is not available');
    }
    await deps.asyncSink.enqueue({ functionName: ref.name, payload, requestId, traceId });
    sendEmpty(res, 202, { 'x-amzn-RequestId': requestId });
    return;
  }

  const clientContext = decodeClientContext(req.headers['x-amz-client-context']);
  const result = await deps.invoker.invoke(ref.name, {
    requestId,
    payload,
    traceId,
    ...(clientContext === undefined ? {} : { clientContext }),
  });
  writeResult(res, result, req.headers['x-amz-log-type'] === 'Tail');
}

function writeResult(res: ServerResponse, result: InvokeResult, tail: boolean): void {
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': result.payload.length,
    'X-Amz-Executed-Version': '$LATEST',
    'x-amzn-RequestId': result.requestId,
  };
  if (!result.ok) headers['X-Amz-Function-Error'] = result.functionError;
  if (tail) {
    const log = Buffer.from(result.logTail, 'utf8');
    headers['X-Amz-Log-Result'] = log
      .subarray(Math.max(0, log.length - LOG_TAIL_BYTES))
      .toString('base64');
  }
  res.writeHead(200, headers);
  res.end(result.payload);
}

function headerValue(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header;
}

function invocationType(header: string | string[] | undefined): InvocationType {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === '') return 'RequestResponse';
  if (value === 'RequestResponse' || value === 'Event' || value === 'DryRun') return value;
  throw new LambdaApiError(
    'InvalidParameterValueException',
    `1 validation error detected: Value '${value}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
  );
}

/** Lambda requires a JSON payload; an empty body is the empty object. */
function validPayload(body: Buffer): Buffer {
  if (body.length === 0) return Buffer.from('{}');
  try {
    JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new LambdaApiError(
      'InvalidRequestContentException',
      `Could not parse request body into json: ${(err as Error).message}`,
    );
  }
  return body;
}

function decodeClientContext(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const text = Buffer.from(value, 'base64').toString('utf8');
  if (Buffer.byteLength(text) > CLIENT_CONTEXT_LIMIT_BYTES) {
    throw new LambdaApiError(
      'InvalidParameterValueException',
      `Client context must be at most ${CLIENT_CONTEXT_LIMIT_BYTES} bytes`,
    );
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
  } catch {
    throw new LambdaApiError(
      'InvalidRequestContentException',
      'Client context must be a valid Base64-encoded JSON object.',
    );
  }
  return text;
}
