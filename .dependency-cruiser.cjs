// @ts-check
/**
 * Folder boundaries of sluice (#16), checked by `npm run lint` (`depcruise src connectors`).
 *
 * The matrix below is the whole policy: a folder may import its own files, the shared
 * infrastructure (src/errors.ts, src/version.ts, src/observability/) and exactly the targets listed
 * for it — nothing else. Every folder gets one generated rule, named `<folder>-imports`, whose
 * violations name the file and the import that crossed. The matrix is acyclic, so no folder cycle
 * can form; `no-circular` catches module cycles inside a folder as well.
 *
 * `EXCEPTIONS` lists, file by file, the imports that break the matrix today and why. They are the
 * to-do of #16 step 2 (a broker is a plugin): each goes away when that step lands. An exception
 * allows exactly one importing file → one imported file, never a folder.
 */

/** Shared infrastructure: any file may import these. */
const SHARED = ['^src/errors\\.ts$', '^src/version\\.ts$', '^src/observability/'];

/** Targets by name, so the matrix reads as sentences. */
const T = {
  app: '^src/app/',
  cli: '^src/cli/',
  api: '^src/api/',
  engine: '^src/engine/',
  batching: '^src/batching/',
  config: '^src/config/',
  /** The compiled config's shapes (types only; no pipeline). */
  configTypes: '^src/config/types\\.ts$',
  /** The connector seam: Connector, SourceRecord, SettleOutcome, BatchVerdict, FailurePolicy… */
  seam: '^src/connectors/',
  plugins: '^connectors/',
  connections: '^src/connections/',
  destinations: '^src/destinations/',
  /** What a producer of destination messages needs: Destination and the factory's type. */
  destinationInterface: '^src/destinations/(destination|destination-factory)\\.ts$',
  invoker: '^src/invoker/',
  /** The invoker's vocabulary (FunctionSpec, InvokeResult) — types, no machinery. */
  invokerTypes: '^src/invoker/types\\.ts$',
  runtimeApi: '^src/runtime-api/',
  async: '^src/async/',
  triggers: '^src/triggers/',
  /** The StateStore seam (interfaces); the SQLite implementation is the composition root's. */
  storeInterface: '^src/store/state-store\\.ts$',
  lambda: '^src/lambda/',
};

/**
 * from (a folder, as a path regex) → what it may import besides itself and SHARED. Read top to
 * bottom, it is the layering: app wires everything; cli starts the app; the API serves the engine,
 * the async queue and triggers; the engine runs mappings through the connector seam; plugins
 * implement the seam; everything at the bottom (lambda, batching, runtime-api, store, seam)
 * imports nothing of sluice's.
 */
const MATRIX = {
  '^src/app/': ['^src/', '^connectors/'],
  '^src/cli/': [T.app, T.config],
  '^src/api/': [
    T.engine,
    T.async,
    T.triggers,
    T.invoker,
    T.storeInterface,
    T.lambda,
    // The API answers in terms of the compiled config (limits, the loopback check, compiling a
    // mapping created through it).
    T.config,
    // Each source's request and response fields come from its plugin, through the seam.
    T.seam,
  ],
  // Not the store: the engine declares the repository it needs (MappingRepository) and the app
  // adapts the store to it.
  '^src/engine/': [T.seam, T.batching, T.invoker, T.lambda, T.config],
  '^src/async/': [T.invoker, T.storeInterface, T.destinationInterface, T.lambda, T.configTypes],
  '^src/triggers/': [T.lambda, T.storeInterface, T.configTypes],
  '^src/destinations/': [T.connections, T.lambda, T.config, T.seam],
  '^src/connections/': [T.configTypes, T.seam],
  '^connectors/[^/]+/': [T.seam, T.lambda, T.connections, T.destinationInterface],
  '^src/connectors/': [],
  '^src/invoker/': [T.runtimeApi, T.lambda],
  // The config pipeline validates filter patterns with the filter engine; a compiled function is
  // the invoker's FunctionSpec; each source's fragment, checks and compile step come from its
  // plugin through the seam (SourcePlugin, the schema kit).
  '^src/config/': [T.batching, T.lambda, T.invokerTypes, T.seam],
  '^src/batching/': [],
  '^src/store/': [T.configTypes],
  '^src/runtime-api/': [],
  '^src/lambda/': [],
  '^src/observability/': [],
};

/**
 * Imports that break the matrix today, each with why — the to-do list of #16 step 2, where each
 * broker's config fragment, defaults and destination move into its plugin.
 */
const EXCEPTIONS = [];

/** Broker SDKs: only the shared clients (connections/) and the plugins talk to brokers. */
// (node_modules may be a symlink to another checkout: match the folder anywhere in the path)
const BROKER_SDKS = '(^|/)node_modules/(kafkajs|amqplib|@aws-sdk/client-sqs)/';
/** @type {{ from: string; why: string }[]} */
const SDK_EXCEPTIONS = [];

/** A path as a regex body (no anchors). */
const literal = (/** @type {string} */ path) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** @returns {import('dependency-cruiser').IForbiddenRuleType[]} */
function matrixRules() {
  return Object.entries(MATRIX).flatMap(([folderRegex, allowed]) => {
    const folder = folderRegex.replace(/^\^/, ''); // e.g. `src/api/`, `connectors/[^/]+/`
    const name = `${folder.replace('[^/]+', '<plugin>').replace(/\/$/, '').replaceAll('/', '-')}-imports`;
    const inFolder = EXCEPTIONS.filter((e) => new RegExp(folderRegex).test(e.from));
    const comment = `${folder} may import only: itself, shared infrastructure, ${allowed.join(', ') || 'nothing else'}`;
    // `$1` in `to` is the importing file's own folder: the first group of the `from` path.
    const to = (/** @type {string[]} */ extra) => ({
      path: '^(src|connectors)/',
      pathNot: ['^$1', ...SHARED, ...allowed, ...extra],
    });
    /** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
    const rules = [
      {
        name,
        severity: 'error',
        comment,
        from: { path: `^(${folder})`, pathNot: inFolder.map((e) => `^${literal(e.from)}$`) },
        to: to([]),
      },
    ];
    for (const fromFile of new Set(inFolder.map((e) => e.from))) {
      const mine = inFolder.filter((e) => e.from === fromFile);
      const dir = fromFile.slice(0, fromFile.lastIndexOf('/') + 1);
      rules.push({
        name,
        severity: 'error',
        comment: `${comment}; exceptions (#16 step 2): ${mine.map((e) => `${e.to}: ${e.why}`).join('; ')}`,
        from: { path: `^(${literal(dir)})${literal(fromFile.slice(dir.length))}$` },
        to: to(mine.map((e) => `^${literal(e.to)}$`)),
      });
    }
    return rules;
  });
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...matrixRules(),
    {
      name: 'broker-sdks-only-in-connections-and-plugins',
      severity: 'error',
      comment: `kafkajs, amqplib and the SQS client are used by src/connections/ and connectors/<plugin>/ only. Exceptions (#16 step 2): ${SDK_EXCEPTIONS.map((e) => `${e.from} — ${e.why}`).join('; ')}`,
      from: {
        path: '^src/',
        pathNot: ['^src/connections/', ...SDK_EXCEPTIONS.map((e) => `^${literal(e.from)}$`)],
      },
      to: { path: BROKER_SDKS },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'A module cycle (inside a folder or across) makes start-up order and reading order fragile.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-dev-dependencies',
      severity: 'error',
      comment: 'src/ and connectors/ ship in dist/: they may not import devDependencies.',
      from: { path: '^(src|connectors)/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too: a boundary crossed by a type is still crossed.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.mjs', '.js', '.json'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};

// For test/unit/boundaries.test.ts, which checks that every listed exception is still needed (so
// the list shrinks as step 2 lands). Not enumerable: dependency-cruiser validates the config's keys.
Object.defineProperty(module.exports, 'exceptions', {
  value: { imports: EXCEPTIONS, brokerSdks: SDK_EXCEPTIONS, brokerSdkPattern: BROKER_SDKS },
  enumerable: false,
});
