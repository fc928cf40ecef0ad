import { compileMapping } from '../config/compile-mapping.ts';
import type { ConnectionConfig, MappingConfig, SluiceConfig } from '../config/types.ts';
import { isSluiceError, SluiceError } from '../errors.ts';
import {
  listWithOr,
  type ConnectionBase,
  type ConnectionPicker,
  type MappingRequest,
  type SourcePlugins,
} from '../connectors/plugin.ts';

/**
 * Translation between Lambda's event-source-mapping API JSON and sluice's mapping config. Pure:
 * takes the running config and a request body, returns the compiled mapping (validated by the
 * same config pipeline as YAML mappings) or throws `INVALID_REQUEST` naming the field.
 */

/** Fields of CreateEventSourceMapping / UpdateEventSourceMapping we understand. */
export interface EsmRequest {
  FunctionName?: string;
  EventSourceArn?: string;
  Enabled?: boolean;
  BatchSize?: number;
  MaximumBatchingWindowInSeconds?: number;
  FilterCriteria?: { Filters?: { Pattern?: string }[] };
  FunctionResponseTypes?: string[];
  ScalingConfig?: { MaximumConcurrency?: number };
  ProvisionedPollerConfig?: { MinimumPollers?: number; MaximumPollers?: number };
  Topics?: string[];
  Queues?: string[];
  StartingPosition?: string;
  StartingPositionTimestamp?: number | string;
  SelfManagedEventSource?: { Endpoints?: { KAFKA_BOOTSTRAP_SERVERS?: string[] } };
  SelfManagedKafkaEventSourceConfig?: { ConsumerGroupId?: string };
  AmazonManagedKafkaEventSourceConfig?: { ConsumerGroupId?: string };
  SourceAccessConfigurations?: { Type?: string; URI?: string }[];
  MaximumRetryAttempts?: number;
  MaximumRecordAgeInSeconds?: number;
  BisectBatchOnFunctionError?: boolean;
  DestinationConfig?: { OnFailure?: { Destination?: string } };
  /** `sluice:connection` names the connection when several of a type exist. */
  Tags?: Record<string, string>;
}

export const CREATE_ONLY_FIELDS = [
  'EventSourceArn',
  'StartingPosition',
  'StartingPositionTimestamp',
  'Topics',
  'Queues',
  'SelfManagedEventSource',
  'SelfManagedKafkaEventSourceConfig',
  'AmazonManagedKafkaEventSourceConfig',
] as const;

function invalid(message: string, field?: string): SluiceError {
  return new SluiceError('INVALID_REQUEST', message, { context: field ? { field } : {} });
}

function functionNameOf(value: string | undefined): string {
  if (!value) throw invalid('FunctionName is required', 'FunctionName');
  const parts = value.split(':');
  // name | name:qualifier | account:function:name | arn:aws:lambda:region:account:function:name
  const name = parts[0] === 'arn' ? parts[6] : parts[1] === 'function' ? parts[2] : parts[0];
  if (!name)
    throw invalid(
      `FunctionName ${JSON.stringify(value)} is not a function name or ARN`,
      'FunctionName',
    );
  return name;
}

function pickConnection(
  config: SluiceConfig,
  type: string,
  req: EsmRequest,
  hint?: (c: ConnectionBase) => boolean,
  required?: { what: string; field: string },
): ConnectionConfig {
  const wanted = req.Tags?.['sluice:connection'];
  const all = Object.values(config.connections).filter((c) => c.type === type);
  if (required && hint && !all.some(hint)) {
    throw invalid(
      `${required.what} is declared by no ${type} connection of this engine (connections.<name>: declare it there)`,
      required.field,
    );
  }
  if (wanted) {
    const c = config.connections[wanted];
    if (!c || c.type !== type)
      throw invalid(
        `Tags.sluice:connection names ${JSON.stringify(wanted)}, which is not a ${type} connection of this engine`,
        'Tags',
      );
    return c;
  }
  const hinted = hint ? all.filter(hint) : all;
  const only = hinted.length === 1 ? hinted[0] : all.length === 1 ? all[0] : undefined;
  if (!only) {
    throw invalid(
      all.length === 0
        ? `this engine has no ${type} connection; declare one under connections: in its config`
        : `several ${type} connections could serve this source (${all.map((c) => c.name).join(', ')}); name one with Tags {"sluice:connection": "<name>"}`,
      'Tags',
    );
  }
  return only;
}

/** The fields every source shares, in YAML shape. */
function commonOptions(name: string, req: EsmRequest): Record<string, unknown> {
  return {
    name,
    function: functionNameOf(req.FunctionName),
    ...(req.Enabled === undefined ? {} : { enabled: req.Enabled }),
    ...(req.BatchSize === undefined ? {} : { batchSize: req.BatchSize }),
    ...(req.MaximumBatchingWindowInSeconds === undefined
      ? {}
      : { maximumBatchingWindowInSeconds: req.MaximumBatchingWindowInSeconds }),
    // `FilterCriteria: {}` clears the filters, as `{Filters: []}` does (Lambda documents both).
    ...(req.FilterCriteria
      ? {
          filterCriteria: {
            filters: (req.FilterCriteria.Filters ?? []).map((f) => ({ pattern: f.Pattern ?? '' })),
          },
        }
      : {}),
    ...(req.FunctionResponseTypes ? { functionResponseTypes: req.FunctionResponseTypes } : {}),
    ...(req.ScalingConfig?.MaximumConcurrency === undefined
      ? {}
      : { scalingConfig: { maximumConcurrency: req.ScalingConfig.MaximumConcurrency } }),
    ...(req.ProvisionedPollerConfig
      ? {
          provisionedPollerConfig: {
            ...(req.ProvisionedPollerConfig.MinimumPollers === undefined
              ? {}
              : { minimumPollers: req.ProvisionedPollerConfig.MinimumPollers }),
            ...(req.ProvisionedPollerConfig.MaximumPollers === undefined
              ? {}
              : { maximumPollers: req.ProvisionedPollerConfig.MaximumPollers }),
          },
        }
      : {}),
    ...(req.MaximumRetryAttempts === undefined
      ? {}
      : { maximumRetryAttempts: req.MaximumRetryAttempts }),
    ...(req.MaximumRecordAgeInSeconds === undefined
      ? {}
      : { maximumRecordAgeInSeconds: req.MaximumRecordAgeInSeconds }),
    ...(req.BisectBatchOnFunctionError === undefined
      ? {}
      : { bisectBatchOnFunctionError: req.BisectBatchOnFunctionError }),
    ...(req.DestinationConfig?.OnFailure?.Destination
      ? {
          destinationConfig: {
            onFailure: { destination: req.DestinationConfig.OnFailure.Destination },
          },
        }
      : {}),
  };
}

/** A create request → the mapping options (YAML shape) it stands for; its source's plugin reads the source. */
export function createRequestToOptions(
  config: SluiceConfig,
  name: string,
  req: EsmRequest,
  plugins: SourcePlugins,
): Record<string, unknown> {
  const common = commonOptions(name, req);
  const pick: ConnectionPicker = (type, hint, required) =>
    pickConnection(config, type, req, hint, required);
  for (const plugin of plugins.all) {
    const source = plugin.requestToSource(req as MappingRequest, pick);
    if (source !== undefined) return { ...common, source };
  }
  throw invalid(
    `name the source: ${listWithOr(plugins.all.map((p) => p.requestHint))}`,
    'EventSourceArn',
  );
}

/** Applies an update request's fields to the options of an existing mapping. */
export function applyUpdate(
  options: Record<string, unknown>,
  req: EsmRequest,
): Record<string, unknown> {
  for (const field of CREATE_ONLY_FIELDS) {
    if (req[field] !== undefined)
      throw invalid(`${field} cannot be changed after the mapping is created`, field);
  }
  const patch = commonOptions(String(options.name), {
    ...req,
    FunctionName: req.FunctionName ?? String(options.function),
  });
  return { ...options, ...patch, source: options.source };
}

/**
 * Validates and compiles mapping options through the same pipeline as the YAML file, with its
 * problems named as the request's fields (`INVALID_REQUEST`).
 */
export function compileMappingOptions(
  config: SluiceConfig,
  options: Record<string, unknown>,
  what: string,
  plugins: SourcePlugins,
): MappingConfig {
  try {
    return compileMapping(config, options, what, plugins);
  } catch (err) {
    throw inApiTerms(err);
  }
}

/**
 * A config problem of a mapping built from a request (`CONFIG_INVALID` from the config pipeline)
 * as the API's `INVALID_REQUEST`, naming the request's fields; any other error unchanged.
 */
export function inApiTerms(err: unknown): unknown {
  if (!isSluiceError(err, 'CONFIG_INVALID')) return err;
  const problems = (err.context.problems as { path: string; message: string }[] | undefined) ?? [];
  const mine = problems.filter((p) => String(p.path).startsWith('mappings'));
  const shown = mine.length ? mine : problems;
  const text = shown.map((p) => `${apiFieldOf(String(p.path))}: ${p.message}`).join('; ');
  // Lambda's own text first where it has one (tools and tests match on it), sluice's detail after.
  const aws = AWS_TEXTS.find((t) => shown.some((p) => t.problem.test(p.message)))?.text;
  return invalid(aws ? `${aws} ${text}` : text || err.message);
}

/** Config problems Lambda answers with a fixed text of its own. */
const AWS_TEXTS: { problem: RegExp; text: string }[] = [
  {
    problem: /when batchSize is above 10\b/,
    text: 'Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10.',
  },
  { problem: /^is not a valid filter pattern/, text: 'Invalid filter pattern definition.' },
];

/**
 * A problem's config path as the API request's field: `mappings[0].scalingConfig.maximumConcurrency`
 * → `ScalingConfig.MaximumConcurrency` (Lambda's request keys are the YAML keys capitalised).
 */
export function apiFieldOf(path: string): string {
  const field = path.replace(/^mappings\[0\]\.?/, '');
  if (field === '') return 'request';
  return field
    .split('.')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('.');
}
