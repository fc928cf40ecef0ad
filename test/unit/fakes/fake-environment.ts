import type {
  Environment,
  EnvironmentOptions,
  EnvironmentState,
  InvokeRequest,
  InvokeResult,
} from '../../../src/invoker/types.ts';

let counter = 0;

/**
 * A stand-in for an execution environment at the pool/invoker seam: no process, the handler is a
 * function of the test. Mirrors the real contract: one invoke at a time, dead after a failure.
 */
export class FakeEnvironment implements Environment {
  readonly id = `fake-${++counter}`;
  readonly functionName: string;
  readonly initializationType;
  state: EnvironmentState = 'created';
  lastUsedAt = 0;
  invokes = 0;
  readonly #options: EnvironmentOptions;
  readonly #handler: (req: InvokeRequest, env: FakeEnvironment) => Promise<unknown>;

  constructor(
    options: EnvironmentOptions,
    handler: (req: InvokeRequest, env: FakeEnvironment) => Promise<unknown>,
  ) {
    this.#options = options;
    this.functionName = options.spec.name;
    this.initializationType = options.initializationType;
    this.#handler = handler;
  }

  async init(): Promise<void> {
    this.state = 'initializing';
    await Promise.resolve();
    this.state = 'idle';
  }

  async invoke(request: InvokeRequest): Promise<InvokeResult> {
    if (this.state !== 'idle') throw new Error(`invoke in state ${this.state}`);
    this.state = 'busy';
    this.invokes += 1;
    const report = { durationMs: 1, billedDurationMs: 1, memorySizeMb: 128, maxMemoryUsedMb: 10 };
    try {
      const value = await this.#handler(request, this);
      this.state = 'idle';
      return {
        ok: true,
        requestId: request.requestId,
        payload: Buffer.from(JSON.stringify(value ?? null)),
        report,
        logTail: '',
      };
    } catch (err) {
      this.state = 'dead';
      this.#options.onDead?.(this);
      const error = { errorType: 'Error', errorMessage: String(err) };
      return {
        ok: false,
        requestId: request.requestId,
        functionError: 'Unhandled',
        error,
        payload: Buffer.from(JSON.stringify(error)),
        report,
        logTail: '',
      };
    } finally {
      this.lastUsedAt = Date.now();
    }
  }

  async shutdown(): Promise<void> {
    if (this.state === 'dead') return;
    this.state = 'dead';
    this.#options.onDead?.(this);
  }
}
