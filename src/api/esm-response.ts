import type { MappingConfig, SluiceConfig } from '../config/types.ts';
import type { MappingMeta } from '../engine/mapping-manager.ts';
import type { SourcePlugins } from '../connectors/plugin.ts';
import { eventSourceMappingArn, functionArn } from '../lambda/arn.ts';

/**
 * The source ARN Lambda would report: the one the source's records carry as `eventSourceARN`
 * (its plugin's; none for sources Lambda gives none, such as self-managed Kafka).
 */
export function eventSourceArn(
  config: SluiceConfig,
  m: MappingConfig,
  plugins: SourcePlugins,
): string | undefined {
  return plugins.get(m.type).eventSourceArn(m, config);
}

/** Lambda's `EventSourceMappingConfiguration` JSON for a mapping. */
export function toEsmConfiguration(
  config: SluiceConfig,
  m: MappingConfig,
  meta: MappingMeta,
  plugins: SourcePlugins,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    UUID: meta.uuid,
    EventSourceMappingArn: eventSourceMappingArn(config.region, config.accountId, meta.uuid),
    FunctionArn: functionArn(config.region, config.accountId, m.functionName),
    BatchSize: m.batchSize,
    MaximumBatchingWindowInSeconds: m.maximumBatchingWindowMs / 1000,
    LastModified: meta.lastModifiedMs / 1000,
    LastProcessingResult: meta.lastProcessingResult,
    State: meta.state,
    StateTransitionReason: meta.stateTransitionReason,
    FunctionResponseTypes: m.reportBatchItemFailures ? ['ReportBatchItemFailures'] : [],
    Tags: {
      'sluice:name': m.name,
      'sluice:origin': meta.origin,
      'sluice:connection': m.source.connection,
    },
  };
  const arn = eventSourceArn(config, m, plugins);
  if (arn) out.EventSourceArn = arn;
  if (m.filters.length > 0)
    out.FilterCriteria = { Filters: m.filters.map((f) => ({ Pattern: f.pattern })) };
  if (m.maximumConcurrency !== undefined)
    out.ScalingConfig = { MaximumConcurrency: m.maximumConcurrency };
  if (m.pollers)
    out.ProvisionedPollerConfig = {
      MinimumPollers: m.pollers.minimum,
      MaximumPollers: m.pollers.maximum,
    };
  // The source's own fields (source, retry and destination settings) come from its plugin.
  return { ...out, ...plugins.get(m.type).toApiFields(m, config) };
}
