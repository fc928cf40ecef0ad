/**
 * Every operation of Lambda's REST API (method and path template), from the AWS SDK for
 * JavaScript v3's Lambda model (@aws-sdk/client-lambda). The API server answers an operation it
 * does not implement with `UnsupportedOperationException` naming it, instead of a 404 that tools
 * read as "the function does not exist"; docs/lambda-coverage.md is checked against this table
 * and the server's routes. Pure data and matching, no I/O.
 */

/** One Lambda operation: its name, HTTP method and path template (`{Label}`s, maybe a query). */
export interface LambdaOperation {
  name: string;
  method: string;
  path: string;
}

const TABLE: readonly (readonly [string, string, string])[] = [
  [
    'AddLayerVersionPermission',
    'POST',
    '/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy',
  ],
  ['AddPermission', 'POST', '/2015-03-31/functions/{FunctionName}/policy'],
  [
    'CheckpointDurableExecution',
    'POST',
    '/2025-12-01/durable-executions/{DurableExecutionArn}/checkpoint',
  ],
  ['CreateAlias', 'POST', '/2015-03-31/functions/{FunctionName}/aliases'],
  ['CreateCapacityProvider', 'POST', '/2025-11-30/capacity-providers'],
  ['CreateCodeSigningConfig', 'POST', '/2020-04-22/code-signing-configs'],
  ['CreateEventSourceMapping', 'POST', '/2015-03-31/event-source-mappings'],
  ['CreateFunction', 'POST', '/2015-03-31/functions'],
  ['CreateFunctionUrlConfig', 'POST', '/2021-10-31/functions/{FunctionName}/url'],
  ['DeleteAlias', 'DELETE', '/2015-03-31/functions/{FunctionName}/aliases/{Name}'],
  ['DeleteCapacityProvider', 'DELETE', '/2025-11-30/capacity-providers/{CapacityProviderName}'],
  ['DeleteCodeSigningConfig', 'DELETE', '/2020-04-22/code-signing-configs/{CodeSigningConfigArn}'],
  ['DeleteEventSourceMapping', 'DELETE', '/2015-03-31/event-source-mappings/{UUID}'],
  ['DeleteFunction', 'DELETE', '/2015-03-31/functions/{FunctionName}'],
  [
    'DeleteFunctionCodeSigningConfig',
    'DELETE',
    '/2020-06-30/functions/{FunctionName}/code-signing-config',
  ],
  ['DeleteFunctionConcurrency', 'DELETE', '/2017-10-31/functions/{FunctionName}/concurrency'],
  [
    'DeleteFunctionEventInvokeConfig',
    'DELETE',
    '/2019-09-25/functions/{FunctionName}/event-invoke-config',
  ],
  ['DeleteFunctionUrlConfig', 'DELETE', '/2021-10-31/functions/{FunctionName}/url'],
  ['DeleteLayerVersion', 'DELETE', '/2018-10-31/layers/{LayerName}/versions/{VersionNumber}'],
  [
    'DeleteProvisionedConcurrencyConfig',
    'DELETE',
    '/2019-09-30/functions/{FunctionName}/provisioned-concurrency',
  ],
  ['DeleteResourcePolicy', 'DELETE', '/2026-07-09/resource-policy/{ResourceArn}'],
  ['GetAccountSettings', 'GET', '/2016-08-19/account-settings'],
  ['GetAlias', 'GET', '/2015-03-31/functions/{FunctionName}/aliases/{Name}'],
  ['GetCapacityProvider', 'GET', '/2025-11-30/capacity-providers/{CapacityProviderName}'],
  ['GetCodeSigningConfig', 'GET', '/2020-04-22/code-signing-configs/{CodeSigningConfigArn}'],
  ['GetDurableExecution', 'GET', '/2025-12-01/durable-executions/{DurableExecutionArn}'],
  [
    'GetDurableExecutionHistory',
    'GET',
    '/2025-12-01/durable-executions/{DurableExecutionArn}/history',
  ],
  ['GetDurableExecutionState', 'GET', '/2025-12-01/durable-executions/{DurableExecutionArn}/state'],
  ['GetEventSourceMapping', 'GET', '/2015-03-31/event-source-mappings/{UUID}'],
  ['GetFunction', 'GET', '/2015-03-31/functions/{FunctionName}'],
  [
    'GetFunctionCodeSigningConfig',
    'GET',
    '/2020-06-30/functions/{FunctionName}/code-signing-config',
  ],
  ['GetFunctionConcurrency', 'GET', '/2019-09-30/functions/{FunctionName}/concurrency'],
  ['GetFunctionConfiguration', 'GET', '/2015-03-31/functions/{FunctionName}/configuration'],
  [
    'GetFunctionEventInvokeConfig',
    'GET',
    '/2019-09-25/functions/{FunctionName}/event-invoke-config',
  ],
  ['GetFunctionRecursionConfig', 'GET', '/2024-08-31/functions/{FunctionName}/recursion-config'],
  [
    'GetFunctionScalingConfig',
    'GET',
    '/2025-11-30/functions/{FunctionName}/function-scaling-config',
  ],
  ['GetFunctionUrlConfig', 'GET', '/2021-10-31/functions/{FunctionName}/url'],
  ['GetLayerVersion', 'GET', '/2018-10-31/layers/{LayerName}/versions/{VersionNumber}'],
  ['GetLayerVersionByArn', 'GET', '/2018-10-31/layers?find=LayerVersion'],
  [
    'GetLayerVersionPolicy',
    'GET',
    '/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy',
  ],
  ['GetPolicy', 'GET', '/2015-03-31/functions/{FunctionName}/policy'],
  [
    'GetProvisionedConcurrencyConfig',
    'GET',
    '/2019-09-30/functions/{FunctionName}/provisioned-concurrency',
  ],
  ['GetResourcePolicy', 'GET', '/2026-07-09/resource-policy/{ResourceArn}'],
  [
    'GetRuntimeManagementConfig',
    'GET',
    '/2021-07-20/functions/{FunctionName}/runtime-management-config',
  ],
  ['Invoke', 'POST', '/2015-03-31/functions/{FunctionName}/invocations'],
  ['InvokeAsync', 'POST', '/2014-11-13/functions/{FunctionName}/invoke-async'],
  [
    'InvokeWithResponseStream',
    'POST',
    '/2021-11-15/functions/{FunctionName}/response-streaming-invocations',
  ],
  ['ListAliases', 'GET', '/2015-03-31/functions/{FunctionName}/aliases'],
  ['ListCapacityProviders', 'GET', '/2025-11-30/capacity-providers'],
  ['ListCodeSigningConfigs', 'GET', '/2020-04-22/code-signing-configs'],
  [
    'ListDurableExecutionsByFunction',
    'GET',
    '/2025-12-01/functions/{FunctionName}/durable-executions',
  ],
  ['ListEventSourceMappings', 'GET', '/2015-03-31/event-source-mappings'],
  [
    'ListFunctionEventInvokeConfigs',
    'GET',
    '/2019-09-25/functions/{FunctionName}/event-invoke-config/list',
  ],
  ['ListFunctionUrlConfigs', 'GET', '/2021-10-31/functions/{FunctionName}/urls'],
  [
    'ListFunctionVersionsByCapacityProvider',
    'GET',
    '/2025-11-30/capacity-providers/{CapacityProviderName}/function-versions',
  ],
  ['ListFunctions', 'GET', '/2015-03-31/functions'],
  [
    'ListFunctionsByCodeSigningConfig',
    'GET',
    '/2020-04-22/code-signing-configs/{CodeSigningConfigArn}/functions',
  ],
  ['ListLayerVersions', 'GET', '/2018-10-31/layers/{LayerName}/versions'],
  ['ListLayers', 'GET', '/2018-10-31/layers'],
  [
    'ListProvisionedConcurrencyConfigs',
    'GET',
    '/2019-09-30/functions/{FunctionName}/provisioned-concurrency?List=ALL',
  ],
  ['ListTags', 'GET', '/2017-03-31/tags/{Resource}'],
  ['ListVersionsByFunction', 'GET', '/2015-03-31/functions/{FunctionName}/versions'],
  ['PublishLayerVersion', 'POST', '/2018-10-31/layers/{LayerName}/versions'],
  ['PublishVersion', 'POST', '/2015-03-31/functions/{FunctionName}/versions'],
  [
    'PutFunctionCodeSigningConfig',
    'PUT',
    '/2020-06-30/functions/{FunctionName}/code-signing-config',
  ],
  ['PutFunctionConcurrency', 'PUT', '/2017-10-31/functions/{FunctionName}/concurrency'],
  [
    'PutFunctionEventInvokeConfig',
    'PUT',
    '/2019-09-25/functions/{FunctionName}/event-invoke-config',
  ],
  ['PutFunctionRecursionConfig', 'PUT', '/2024-08-31/functions/{FunctionName}/recursion-config'],
  [
    'PutFunctionScalingConfig',
    'PUT',
    '/2025-11-30/functions/{FunctionName}/function-scaling-config',
  ],
  [
    'PutProvisionedConcurrencyConfig',
    'PUT',
    '/2019-09-30/functions/{FunctionName}/provisioned-concurrency',
  ],
  ['PutResourcePolicy', 'PUT', '/2026-07-09/resource-policy/{ResourceArn}'],
  [
    'PutRuntimeManagementConfig',
    'PUT',
    '/2021-07-20/functions/{FunctionName}/runtime-management-config',
  ],
  [
    'RemoveLayerVersionPermission',
    'DELETE',
    '/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy/{StatementId}',
  ],
  ['RemovePermission', 'DELETE', '/2015-03-31/functions/{FunctionName}/policy/{StatementId}'],
  [
    'SendDurableExecutionCallbackFailure',
    'POST',
    '/2025-12-01/durable-execution-callbacks/{CallbackId}/fail',
  ],
  [
    'SendDurableExecutionCallbackHeartbeat',
    'POST',
    '/2025-12-01/durable-execution-callbacks/{CallbackId}/heartbeat',
  ],
  [
    'SendDurableExecutionCallbackSuccess',
    'POST',
    '/2025-12-01/durable-execution-callbacks/{CallbackId}/succeed',
  ],
  ['StopDurableExecution', 'POST', '/2025-12-01/durable-executions/{DurableExecutionArn}/stop'],
  ['TagResource', 'POST', '/2017-03-31/tags/{Resource}'],
  ['UntagResource', 'DELETE', '/2017-03-31/tags/{Resource}'],
  ['UpdateAlias', 'PUT', '/2015-03-31/functions/{FunctionName}/aliases/{Name}'],
  ['UpdateCapacityProvider', 'PUT', '/2025-11-30/capacity-providers/{CapacityProviderName}'],
  ['UpdateCodeSigningConfig', 'PUT', '/2020-04-22/code-signing-configs/{CodeSigningConfigArn}'],
  ['UpdateEventSourceMapping', 'PUT', '/2015-03-31/event-source-mappings/{UUID}'],
  ['UpdateFunctionCode', 'PUT', '/2015-03-31/functions/{FunctionName}/code'],
  ['UpdateFunctionConfiguration', 'PUT', '/2015-03-31/functions/{FunctionName}/configuration'],
  [
    'UpdateFunctionEventInvokeConfig',
    'POST',
    '/2019-09-25/functions/{FunctionName}/event-invoke-config',
  ],
  ['UpdateFunctionUrlConfig', 'PUT', '/2021-10-31/functions/{FunctionName}/url'],
];

export const LAMBDA_OPERATIONS: readonly LambdaOperation[] = TABLE.map(([name, method, path]) => ({
  name,
  method,
  path,
}));

interface CompiledOperation extends LambdaOperation {
  pattern: RegExp;
  /** A query parameter the path template fixes (`?List=ALL`, `?find=LayerVersion`). */
  query: [string, string] | undefined;
}

function compile(op: LambdaOperation): CompiledOperation {
  const [pathPart, queryPart] = op.path.split('?') as [string, string | undefined];
  const source = pathPart
    .split('/')
    .map((segment) => (/^\{\w+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.-]/g, '\\$&')))
    .join('/');
  const query = queryPart?.split('=') as [string, string] | undefined;
  return { ...op, pattern: new RegExp(`^${source}/?$`), query };
}

// Templates with a fixed query first: they share their path with another operation.
const COMPILED: readonly CompiledOperation[] = LAMBDA_OPERATIONS.map(compile).sort(
  (a, b) => Number(b.query !== undefined) - Number(a.query !== undefined),
);

/** The Lambda operation a request is for, or undefined when it is no Lambda path at all. */
export function matchLambdaOperation(
  method: string,
  pathname: string,
  query: URLSearchParams = new URLSearchParams(),
): LambdaOperation | undefined {
  for (const op of COMPILED) {
    if (op.method !== method || !op.pattern.test(pathname)) continue;
    if (op.query && query.get(op.query[0]) !== op.query[1]) continue;
    return { name: op.name, method: op.method, path: op.path };
  }
  return undefined;
}

/** A concrete request path for an operation's template (each `{Label}` filled by `sample`). */
export function samplePath(
  op: LambdaOperation,
  sample: (label: string) => string = () => 'sample',
): { path: string; query: URLSearchParams } {
  const [pathPart, queryPart] = op.path.split('?') as [string, string | undefined];
  return {
    path: pathPart.replace(/\{(\w+)\}/g, (_m, label: string) => encodeURIComponent(sample(label))),
    query: new URLSearchParams(queryPart ?? ''),
  };
}
