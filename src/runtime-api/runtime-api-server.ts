import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SluiceError } from '../errors.ts';
import {
  ExtensionsRegistry,
  parseRegisterBody,
  type ExtensionEvent,
  type RegisteredExtension,
} from './extensions-api.ts';
import {
  HEADERS,
  MAX_RESPONSE_BYTES,
  extensionRegisterRejected,
  invalidExtensionId,
  invalidRequestId,
  invalidStateTransition,
  nextInvocationHeaders,
  parseRoute,
  requestTooLarge,
  unknownPath,
  type ApiErrorReply,
} from './protocol.ts';

/** One invoke as handed to the runtime by `/next`. */
export interface RuntimeInvocation {
  requestId: string;
  payload: Buffer;
  /** Epoch ms. */
  deadlineMs: number;
  invokedFunctionArn: string;
  traceId?: string;
  clientContext?: string;
  cognitoIdentity?: string;
}

/** What the runtime posted for an invocation. */
export type InvocationOutcome =
  | { kind: 'response'; body: Buffer }
  | { kind: 'error'; body: Buffer; errorType?: string }
  | { kind: 'too-large'; sizeBytes: number };

/** Callbacks into the environment; the server itself makes no lifecycle decisions. */
export interface RuntimeApiListener {
  /** The runtime called `/next` for the first time: its INIT is over. */
  onRuntimeReady?(): void;
  onInvocationOutcome?(requestId: string, outcome: InvocationOutcome): void;
  onInitError?(body: Buffer, errorType: string | undefined): void;
  onExtensionRegistered?(extension: RegisteredExtension): void;
  /** An extension called `event/next` (it finished handling its previous event). */
  onExtensionNext?(extension: RegisteredExtension): void;
  onExtensionError?(
    extension: RegisteredExtension,
    phase: 'init' | 'exit',
    errorType: string | undefined,
    body: Buffer,
  ): void;
}

export interface RuntimeApiServerOptions {
  listener: RuntimeApiListener;
  /** Returned to extensions on register, as Lambda does. */
  functionName: string;
  handler: string;
}

type RuntimePhase = 'init' | 'ready' | 'closed';

interface CurrentInvocation {
  invocation: RuntimeInvocation;
  posted: boolean;
}

/**
 * The Runtime API and Extensions API of one environment, on 127.0.0.1 with an ephemeral port.
 * Holds at most one invocation at a time: the pool never gives an environment a second one.
 */
export class RuntimeApiServer {
  readonly extensions = new ExtensionsRegistry();
  private readonly server: Server;
  private readonly options: RuntimeApiServerOptions;
  private readonly sockets = new Set<Socket>();
  private phase: RuntimePhase = 'init';
  private registrationOpen = true;
  private waitingNext: ServerResponse | undefined;
  /**
   * A 202 held back because the runtime pipelined its next poll behind the result: it goes out
   * just ahead of the next event, so the runtime wakes once per invoke instead of twice.
   */
  private heldAccept: ServerResponse | undefined;
  private queued: RuntimeInvocation | undefined;
  private current: CurrentInvocation | undefined;
  /** Ids whose result is in: a second post for them is a 403, an unknown id a 400. */
  private readonly finishedIds = new Set<string>();
  private closing: Promise<void> | undefined;

  private constructor(options: RuntimeApiServerOptions) {
    this.options = options;
    this.server = createServer({ keepAlive: true }, (req, res) => this.handle(req, res));
    // Long polls never time out on Lambda; Node's default request timeout would cut them.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 0;
    this.server.keepAliveTimeout = 0;
    this.server.on('connection', (socket) => {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: RuntimeApiServerOptions): Promise<RuntimeApiServer> {
    const api = new RuntimeApiServer(options);
    await new Promise<void>((resolve, reject) => {
      api.server.once('error', (cause) =>
        reject(new SluiceError('RUNTIME_API', 'Runtime API server failed to listen', { cause })),
      );
      api.server.listen(0, '127.0.0.1', () => resolve());
    });
    return api;
  }

  /** `host:port`, the value of AWS_LAMBDA_RUNTIME_API. */
  get address(): string {
    const info = this.server.address() as AddressInfo;
    return `127.0.0.1:${info.port}`;
  }

  get runtimeReady(): boolean {
    return this.phase === 'ready';
  }

  /** INIT is over: later registrations are refused. */
  closeRegistration(): void {
    this.registrationOpen = false;
  }

  /** Hands an invocation to the runtime (now, or when it next polls). */
  dispatch(invocation: RuntimeInvocation): void {
    if (this.queued || (this.current && !this.current.posted)) {
      throw new SluiceError('RUNTIME_API', 'An invocation is already in progress', {
        context: { requestId: invocation.requestId },
      });
    }
    this.queued = invocation;
    this.deliver();
  }

  broadcastExtensionEvent(event: ExtensionEvent): number {
    return this.extensions.broadcast(event);
  }

  /** Sends a held-back 202 (see `heldAccept`). */
  private releaseHeldAccept(): void {
    const res = this.heldAccept;
    this.heldAccept = undefined;
    if (res) replyAccepted(res);
  }

  /** Closes the server and drops every held connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.phase = 'closed';
      this.releaseHeldAccept();
      this.waitingNext?.destroy();
      this.waitingNext = undefined;
      this.extensions.releaseAll();
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
    return this.closing;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const route = parseRoute(req.method ?? '', req.url ?? '');
    switch (route.kind) {
      case 'next':
        this.onNext(req, res);
        return;
      case 'response':
      case 'error':
        this.onInvocationPost(req, res, route.requestId, route.kind);
        return;
      case 'init-error':
        void this.onInitError(req, res);
        return;
      case 'extension-register':
        void this.onRegister(req, res);
        return;
      case 'extension-next':
        this.onExtensionNext(req, res);
        return;
      case 'extension-init-error':
      case 'extension-exit-error':
        void this.onExtensionError(
          req,
          res,
          route.kind === 'extension-init-error' ? 'init' : 'exit',
        );
        return;
      default:
        req.resume();
        reply(res, unknownPath(req.method ?? '', req.url ?? ''));
    }
  }

  private onNext(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (this.phase === 'closed') {
      reply(res, invalidStateTransition('environment is shutting down'));
      return;
    }
    if (this.current && !this.current.posted) {
      reply(res, invalidStateTransition('next called before the current invocation was answered'));
      return;
    }
    if (this.waitingNext && !this.waitingNext.writableEnded && !this.waitingNext.destroyed) {
      reply(res, invalidStateTransition('a next request is already pending'));
      return;
    }
    this.current = undefined;
    this.waitingNext = res;
    res.once('close', () => {
      if (this.waitingNext === res) this.waitingNext = undefined;
    });
    if (this.phase === 'init') {
      this.phase = 'ready';
      this.options.listener.onRuntimeReady?.();
    }
    this.deliver();
  }

  private deliver(): void {
    const res = this.waitingNext;
    const invocation = this.queued;
    if (!res || !invocation) return;
    this.waitingNext = undefined;
    this.queued = undefined;
    this.current = { invocation, posted: false };
    this.releaseHeldAccept();
    res.writeHead(200, {
      ...nextInvocationHeaders(invocation),
      'Content-Length': invocation.payload.length,
    });
    res.end(invocation.payload);
  }

  private onInvocationPost(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    kind: 'response' | 'error',
  ): void {
    const current = this.current;
    if (!current || current.invocation.requestId !== requestId) {
      req.resume();
      reply(
        res,
        this.finishedIds.has(requestId)
          ? invalidStateTransition(`invocation ${requestId} already has a result`)
          : invalidRequestId(requestId),
      );
      return;
    }
    if (current.posted) {
      req.resume();
      reply(res, invalidStateTransition(`invocation ${requestId} already has a result`));
      return;
    }
    // Claim the invocation now so a concurrent second post is refused while this body streams in.
    current.posted = true;
    void readBody(req, MAX_RESPONSE_BYTES).then(({ body, sizeBytes, tooLarge }) => {
      this.finishedIds.add(requestId);
      let outcome: InvocationOutcome;
      if (tooLarge) {
        outcome = { kind: 'too-large', sizeBytes };
        reply(res, requestTooLarge());
      } else {
        outcome = outcomeOf(req, kind, body);
        // Pipelined: the runtime already asked for the next invocation on this connection, so it
        // is not waiting for the 202 (a runtime that waits never has a poll held here).
        // (`res.socket` of a queued pipelined response is still null: compare the requests'.)
        if (this.waitingNext?.req.socket === req.socket) {
          this.releaseHeldAccept();
          this.heldAccept = res;
        } else {
          replyAccepted(res);
        }
      }
      this.options.listener.onInvocationOutcome?.(requestId, outcome);
    });
  }

  private async onInitError(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { body } = await readBody(req, MAX_RESPONSE_BYTES);
    if (this.phase !== 'init') {
      reply(res, invalidStateTransition('init error posted after init'));
      return;
    }
    replyAccepted(res);
    this.options.listener.onInitError?.(body, headerValue(req, HEADERS.functionErrorType));
  }

  private async onRegister(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { body } = await readBody(req, 64 * 1024);
    const name = headerValue(req, HEADERS.extensionName);
    const events = parseRegisterBody(body);
    if (!this.registrationOpen) {
      reply(res, extensionRegisterRejected('Extensions may only register during INIT'));
      return;
    }
    if (!name || events === undefined) {
      reply(res, {
        status: 400,
        body: {
          errorMessage: 'Register needs a Lambda-Extension-Name header and a JSON events list',
          errorType: 'InvalidRequest',
        },
      });
      return;
    }
    const extension = this.extensions.register(name, events);
    const payload = JSON.stringify({
      functionName: this.options.functionName,
      functionVersion: '$LATEST',
      handler: this.options.handler,
    });
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(payload),
      'Lambda-Extension-Identifier': extension.id,
    });
    res.end(payload);
    this.options.listener.onExtensionRegistered?.(extension);
  }

  private onExtensionNext(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const extension = this.extensions.get(headerValue(req, HEADERS.extensionId));
    if (!extension || this.phase === 'closed') {
      reply(res, invalidExtensionId());
      return;
    }
    this.extensions.next(extension.id, res);
    this.options.listener.onExtensionNext?.(extension);
  }

  private async onExtensionError(
    req: IncomingMessage,
    res: ServerResponse,
    phase: 'init' | 'exit',
  ): Promise<void> {
    const { body } = await readBody(req, MAX_RESPONSE_BYTES);
    const extension = this.extensions.get(headerValue(req, HEADERS.extensionId));
    if (!extension) {
      reply(res, invalidExtensionId());
      return;
    }
    replyAccepted(res);
    this.options.listener.onExtensionError?.(
      extension,
      phase,
      headerValue(req, HEADERS.extensionErrorType),
      body,
    );
  }
}

/** A posted result; streamed responses may carry their error in trailers instead of the body. */
function outcomeOf(
  req: IncomingMessage,
  kind: 'response' | 'error',
  body: Buffer,
): InvocationOutcome {
  const trailerType = req.trailers[HEADERS.functionErrorType];
  if (kind === 'response' && trailerType) {
    const encoded = req.trailers[HEADERS.functionErrorBody];
    return {
      kind: 'error',
      errorType: trailerType,
      body: encoded ? Buffer.from(encoded, 'base64') : Buffer.alloc(0),
    };
  }
  if (kind === 'response') return { kind: 'response', body };
  return { kind: 'error', body, errorType: headerValue(req, HEADERS.functionErrorType) };
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value || undefined;
}

interface ReadBody {
  body: Buffer;
  sizeBytes: number;
  tooLarge: boolean;
}

/** Reads a (possibly chunked) body; past `limitBytes` it keeps draining but stops storing. */
function readBody(req: IncomingMessage, limitBytes: number): Promise<ReadBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let sizeBytes = 0;
    req.on('data', (chunk: Buffer) => {
      sizeBytes += chunk.length;
      if (sizeBytes <= limitBytes) chunks.push(chunk);
    });
    const done = (): void => {
      const tooLarge = sizeBytes > limitBytes;
      resolve({ body: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks), sizeBytes, tooLarge });
    };
    req.once('end', done);
    req.once('error', done);
  });
}

const ACCEPTED = Buffer.from('{"status":"OK"}');

function replyAccepted(res: ServerResponse): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(202, { 'Content-Type': 'application/json', 'Content-Length': ACCEPTED.length });
  res.end(ACCEPTED);
}

function reply(res: ServerResponse, error: ApiErrorReply): void {
  if (res.writableEnded || res.destroyed) return;
  const body = JSON.stringify(error.body);
  res.writeHead(error.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}
