import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  loadHandler,
  parseHandlerName,
} from '../../src/invoker/runtimes/nodejs/handler-loader.mjs';
import { toRapidResponse } from '../../src/invoker/runtimes/nodejs/runtime-errors.mjs';

const FUNCTIONS = join(fileURLToPath(import.meta.url), '..', '..', 'fixtures', 'functions');

describe('parseHandlerName', () => {
  it('splits at the first dot after the basename', () => {
    expect(parseHandlerName('index.handler')).toEqual({
      moduleRoot: '',
      moduleName: 'index',
      handlerPath: 'handler',
    });
    expect(parseHandlerName('src/lib/app.nested.fn')).toEqual({
      moduleRoot: 'src/lib/',
      moduleName: 'app',
      handlerPath: 'nested.fn',
    });
    expect(parseHandlerName('dir.with.dots/mod.fn')).toEqual({
      moduleRoot: 'dir.with.dots/',
      moduleName: 'mod',
      handlerPath: 'fn',
    });
  });

  it.each(['../up.handler', 'a/../b.handler', 'index', 'index.', '.handler', ''])(
    'rejects %j as Runtime.MalformedHandlerName',
    (name) => {
      expect(() => parseHandlerName(name)).toThrow(
        expect.objectContaining({ name: 'Runtime.MalformedHandlerName' }),
      );
    },
  );
});

describe('loadHandler', () => {
  it('loads CommonJS, .mjs and type:module handlers', async () => {
    expect(typeof (await loadHandler(join(FUNCTIONS, 'node-cjs'), 'index.handler'))).toBe(
      'function',
    );
    expect(typeof (await loadHandler(join(FUNCTIONS, 'node-esm-mjs'), 'index.handler'))).toBe(
      'function',
    );
    expect(typeof (await loadHandler(join(FUNCTIONS, 'node-esm-type-module'), 'app.handler'))).toBe(
      'function',
    );
  });

  it('names the AWS error types', async () => {
    await expect(loadHandler(join(FUNCTIONS, 'node-cjs'), 'missing.handler')).rejects.toMatchObject(
      {
        name: 'Runtime.ImportModuleError',
      },
    );
    await expect(loadHandler(join(FUNCTIONS, 'node-cjs'), 'index.nope')).rejects.toMatchObject({
      name: 'Runtime.HandlerNotFound',
      message: 'index.nope is undefined or not exported',
    });
  });
});

describe('toRapidResponse', () => {
  it('serialises errors as {errorType, errorMessage, trace}', () => {
    const body = toRapidResponse(new RangeError('bad'));
    expect(body.errorType).toBe('RangeError');
    expect(body.errorMessage).toBe('bad');
    expect(body.trace[0]).toBe('RangeError: bad');
    expect(toRapidResponse('plain')).toEqual({
      errorType: 'string',
      errorMessage: 'plain',
      trace: [],
    });
  });
});
