/**
 * A function's `LoggingConfig` as Lambda's API shows it (GetFunction, GetFunctionConfiguration):
 * always present, `Text` and the log group by default; levels only for JSON.
 */
import type { FunctionSpec } from '../invoker/types.ts';

export interface LambdaLoggingConfig {
  LogFormat: 'JSON' | 'Text';
  ApplicationLogLevel?: string;
  SystemLogLevel?: string;
  LogGroup: string;
}

export function lambdaLoggingConfig(
  spec: Pick<FunctionSpec, 'name' | 'loggingConfig'>,
): LambdaLoggingConfig {
  const config = spec.loggingConfig;
  return {
    LogFormat: config?.logFormat ?? 'Text',
    ...(config?.applicationLogLevel ? { ApplicationLogLevel: config.applicationLogLevel } : {}),
    ...(config?.systemLogLevel ? { SystemLogLevel: config.systemLogLevel } : {}),
    LogGroup: `/aws/lambda/${spec.name}`,
  };
}
