import { LambdaApiError } from './lambda-errors.ts';

export interface FunctionRef {
  name: string;
  qualifier?: string;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Parses Lambda's FunctionName forms: `name`, `name:qualifier`, `123456789012:function:name`,
 * and full ARNs `arn:aws:lambda:<region>:<account>:function:name[:qualifier]`.
 */
export function parseFunctionName(raw: string, qualifier?: string): FunctionRef {
  const value = decodedOrInvalid(raw);
  const parts = value.split(':');
  let name: string | undefined;
  let q: string | undefined;
  if (parts[0] === 'arn') {
    // arn:aws:lambda:region:account:function:name[:qualifier]
    if (parts.length < 7 || parts[2] !== 'lambda' || parts[5] !== 'function') invalid(value);
    name = parts[6];
    q = parts[7];
  } else if (parts.length >= 3 && parts[1] === 'function') {
    name = parts[2];
    q = parts[3];
  } else if (parts.length <= 2) {
    name = parts[0];
    q = parts[1];
  } else invalid(value);
  if (!name || !NAME.test(name)) invalid(value);
  if (q !== undefined && qualifier !== undefined && q !== qualifier) {
    throw new LambdaApiError(
      'InvalidParameterValueException',
      'The derived qualifier from the function name does not match the specified qualifier.',
    );
  }
  const effective = qualifier ?? q;
  return effective === undefined ? { name } : { name, qualifier: effective };
}

/** A name that is not valid percent-encoding (`%ZZ`) is the caller's mistake: 400, not 500. */
function decodedOrInvalid(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return invalid(raw);
  }
}

function invalid(value: string): never {
  throw new LambdaApiError(
    'InvalidParameterValueException',
    `1 validation error detected: Value '${value}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?`,
  );
}
