/**
 * `functions.<name>.awsCredentials`: the AWS keys a function gets, read from sluice's environment
 * when the config is loaded — all of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
 * (`fromEnvironment: true`), or the variables it names. Off unless declared: the engine's own
 * secrets never reach a function by default (Lambda injects its execution role's keys instead).
 */
import type { AwsCredentials } from '../invoker/types.ts';
import { isObj, str, type Obj, type Problems } from './check-context.ts';
import type { AwsCredentialsOptions } from './options.ts';

type Env = Record<string, string | undefined>;

interface VariableNames {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** `fromEnvironment`: a missing session token is fine; a named one must be set. */
  sessionTokenOptional: boolean;
}

/** Which variables to read; a message when the options name neither way (or both). */
function variableNames(options: Obj): VariableNames | string {
  const named = ['accessKeyIdVar', 'secretAccessKeyVar', 'sessionTokenVar'].some(
    (key) => options[key] !== undefined,
  );
  if (options.fromEnvironment === true) {
    if (named) return 'takes either fromEnvironment: true or the …Var names, not both';
    return {
      accessKeyId: 'AWS_ACCESS_KEY_ID',
      secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
      sessionToken: 'AWS_SESSION_TOKEN',
      sessionTokenOptional: true,
    };
  }
  const accessKeyId = str(options.accessKeyIdVar);
  const secretAccessKey = str(options.secretAccessKeyVar);
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    return "needs fromEnvironment: true, or accessKeyIdVar and secretAccessKeyVar (names of variables of sluice's environment)";
  }
  const sessionToken = str(options.sessionTokenVar);
  return {
    accessKeyId,
    secretAccessKey,
    ...(sessionToken === undefined ? {} : { sessionToken }),
    sessionTokenOptional: false,
  };
}

/** Problems of one function's `awsCredentials` against the environment the config is loaded with. */
export function checkAwsCredentials(name: string, fn: Obj, env: Env, problems: Problems): void {
  const options = fn.awsCredentials;
  if (!isObj(options)) return;
  const path = ['functions', name, 'awsCredentials'];
  const names = variableNames(options);
  if (typeof names === 'string') {
    problems.add(path, names, { target: 'key' });
    return;
  }
  const wanted = [names.accessKeyId, names.secretAccessKey];
  if (names.sessionToken !== undefined && !names.sessionTokenOptional)
    wanted.push(names.sessionToken);
  for (const variable of wanted) {
    if (!env[variable]) {
      problems.add(path, `reads ${variable}, which is not set in sluice's environment`, {
        target: 'key',
      });
    }
  }
}

/** The keys, read from `env`; only called on a config that passed `checkAwsCredentials`. */
export function resolveAwsCredentials(options: AwsCredentialsOptions, env: Env): AwsCredentials {
  const names = variableNames(options as Obj) as VariableNames;
  const sessionToken = names.sessionToken === undefined ? undefined : env[names.sessionToken];
  return {
    accessKeyId: env[names.accessKeyId] ?? '',
    secretAccessKey: env[names.secretAccessKey] ?? '',
    ...(sessionToken ? { sessionToken } : {}),
  };
}
