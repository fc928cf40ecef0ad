// Finds and loads the function's handler the way AWS's Node runtime does, so code written for
// Lambda resolves identically: `_HANDLER` = `dir/module.fn.nested`, CommonJS first, then ESM.
import { fs, module, path, url } from './builtins.mjs';
import {
  HandlerNotFound,
  ImportModuleError,
  MalformedHandlerName,
  UserCodeSyntaxError,
} from './runtime-errors.mjs';

const { existsSync, readFileSync, statSync } = fs;
const { createRequire } = module;
const { basename, dirname, join, resolve } = path;
const { pathToFileURL } = url;

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;

/**
 * Splits `path/module.fn.nested` at the first dot after the basename. Returns the module root
 * (folder part, may be empty), the module name and the property path of the handler.
 */
export function parseHandlerName(fullHandler) {
  if (typeof fullHandler !== 'string' || fullHandler.includes('..')) {
    throw new MalformedHandlerName("'../' not allowed in handler name");
  }
  const handlerString = basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(handlerString));
  const match = FUNCTION_EXPR.exec(handlerString);
  if (!match || !match[1] || !match[2]) throw new MalformedHandlerName('Bad handler');
  return { moduleRoot, moduleName: match[1], handlerPath: match[2] };
}

/** Resolves and loads the handler function; throws the Runtime.* errors AWS posts to init/error. */
export async function loadHandler(appRoot, fullHandler) {
  const { moduleRoot, moduleName, handlerPath } = parseHandlerName(fullHandler);
  let userModule;
  try {
    userModule = await loadModule(appRoot, moduleRoot, moduleName);
  } catch (error) {
    if (error instanceof SyntaxError) throw new UserCodeSyntaxError(error);
    if (error && (error.code === 'MODULE_NOT_FOUND' || error.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new ImportModuleError(error);
    }
    throw error;
  }
  const handler = handlerPath
    .split('.')
    .reduce(
      (value, key) => (value === null || value === undefined ? value : value[key]),
      userModule,
    );
  if (handler === undefined || handler === null) {
    throw new HandlerNotFound(`${fullHandler} is undefined or not exported`);
  }
  if (typeof handler !== 'function') throw new HandlerNotFound(`${fullHandler} is not a function`);
  return handler;
}

async function loadModule(appRoot, moduleRoot, moduleName) {
  const base = resolve(appRoot, moduleRoot, moduleName);
  const require = createRequire(join(appRoot, 'noop.js'));
  // An extensionless file (e.g. `index` itself) is required as is.
  if (existsSync(base) && !isDirectory(base)) return require(base);
  const typeModule = nearestPackageTypeIsModule(dirname(base));
  if (!typeModule && existsSync(`${base}.js`)) return require(`${base}.js`);
  if (typeModule && existsSync(`${base}.js`)) return import(pathToFileURL(`${base}.js`).href);
  if (existsSync(`${base}.mjs`)) return import(pathToFileURL(`${base}.mjs`).href);
  if (existsSync(`${base}.cjs`)) return require(`${base}.cjs`);
  // Last resort, a node-style module id (a package in node_modules): resolved from the code
  // folder, not from this file, because the runtime does not live next to the function.
  return require(require.resolve(moduleName, { paths: [appRoot, resolve(appRoot, moduleRoot)] }));
}

function isDirectory(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `"type": "module"` in the nearest package.json makes `.js` files ES modules. */
function nearestPackageTypeIsModule(dir) {
  for (let current = dir; ; current = dirname(current)) {
    const file = join(current, 'package.json');
    if (existsSync(file)) {
      try {
        return JSON.parse(readFileSync(file, 'utf8')).type === 'module';
      } catch {
        return false;
      }
    }
    if (dirname(current) === current) return false;
  }
}
