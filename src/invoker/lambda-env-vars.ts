import { randomBytes } from 'node:crypto';
import { functionArn as arnOfFunction } from '../lambda/arn.ts';
import type { FunctionSpec, InitializationType } from './types.ts';

export interface LambdaEnvInput {
  spec: FunctionSpec;
  initializationType: InitializationType;
  /** `host:port` of the environment's Runtime API. */
  runtimeApiAddress: string;
  /** The environment's private temporary folder. */
  tmpDir: string;
  executionEnv?: string;
  runtimeDir: string;
  logStreamName: string;
  /** Runtime folders put in front of the base PATH. */
  pathDirs: string[];
}

const BASE_PATH = ['/usr/local/bin', '/usr/bin', '/bin'];

/**
 * The complete environment of a function process, built from nothing: sluice's own variables
 * (credentials, tokens, NODE_OPTIONS...) never reach a function, unless its config names them
 * (`awsCredentials`, resolved when the config is loaded). Order of precedence as on Lambda:
 * the defaults a function may override (TZ, LANG, PATH, TMPDIR), then the function's variables,
 * then the reserved variables Lambda always sets.
 */
export function buildLambdaEnv(input: LambdaEnvInput): Record<string, string> {
  const { spec } = input;
  const env: Record<string, string> = {
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    PATH: [...input.pathDirs, ...BASE_PATH].join(':'),
    TMPDIR: input.tmpDir,
    ...spec.environment,
  };
  const reserved: Record<string, string | undefined> = {
    _HANDLER: spec.handler,
    AWS_REGION: spec.region,
    AWS_DEFAULT_REGION: spec.region,
    AWS_EXECUTION_ENV: input.executionEnv,
    AWS_LAMBDA_FUNCTION_NAME: spec.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySizeMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: input.initializationType,
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: input.logStreamName,
    AWS_LAMBDA_RUNTIME_API: input.runtimeApiAddress,
    LAMBDA_TASK_ROOT: spec.codeDir,
    LAMBDA_RUNTIME_DIR: input.runtimeDir,
  };
  for (const [key, value] of Object.entries(reserved)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return Object.assign(env, loggingEnv(spec), awsEnv(spec));
}

/**
 * Credentials and endpoint the config gives the function, where the AWS SDKs (v3 JS, boto3, Go v2)
 * look for them. They win over the function's `environment:`, as Lambda's injected keys do.
 */
function awsEnv(spec: FunctionSpec): Record<string, string> {
  const env: Record<string, string> = {};
  const credentials = spec.awsCredentials;
  if (credentials) {
    env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
    if (credentials.sessionToken) env.AWS_SESSION_TOKEN = credentials.sessionToken;
  }
  if (spec.awsEndpointUrl) env.AWS_ENDPOINT_URL = spec.awsEndpointUrl;
  return env;
}

/**
 * Lambda's advanced logging controls as the runtimes read them: AWS's Node and Python clients and
 * Powertools switch to JSON on AWS_LAMBDA_LOG_FORMAT=JSON and drop levels below
 * AWS_LAMBDA_LOG_LEVEL. Nothing is set for Text (runtimes default to it).
 */
function loggingEnv(spec: FunctionSpec): Record<string, string> {
  const config = spec.loggingConfig;
  if (config?.logFormat !== 'JSON') return {};
  return {
    AWS_LAMBDA_LOG_FORMAT: 'JSON',
    ...(config.applicationLogLevel ? { AWS_LAMBDA_LOG_LEVEL: config.applicationLogLevel } : {}),
  };
}

/** `2024/05/01/[$LATEST]<32 hex>`, the shape of Lambda's log stream names. */
export function logStreamName(now: Date = new Date()): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

/** `arn:aws:lambda:<region>:<account>:function:<name>`. */
export function functionArn(spec: FunctionSpec): string {
  return arnOfFunction(spec.region, spec.accountId, spec.name);
}
