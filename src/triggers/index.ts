/**
 * Push triggers: S3-style bucket notifications over HTTP become durable asynchronous invokes.
 * `registerTriggers` adds one POST (and HEAD probe) route per configured trigger to the API server.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ApiServer } from '../api/api-server.ts';
import type { SluiceConfig } from '../config/types.ts';
import type { TriggerDedupStore } from '../store/state-store.ts';
import { S3TriggerIntake, type TriggerQueue } from './s3-trigger-intake.ts';
import { handleS3Probe, handleS3Push } from './s3-trigger-route.ts';
import { TriggerMetrics } from './trigger-metrics.ts';

export { DEFAULT_DEDUP_WINDOW_MS } from './s3-trigger-intake.ts';
export { TRIGGER_BODY_LIMIT_BYTES } from './s3-trigger-route.ts';

export interface TriggerDeps {
  config: Pick<SluiceConfig, 'triggers' | 'region'>;
  /** The engine's async queue (`AsyncRuntime.queue`). */
  queue: TriggerQueue;
  /** The engine's store (deduplication window). */
  store: TriggerDedupStore;
  logger: Logger;
  /** The engine's metrics registry. */
  registry: Registry;
  /** Default `DEFAULT_DEDUP_WINDOW_MS` (1 hour). */
  dedupWindowMs?: number;
}

/** Registers every configured trigger's routes; nothing (not even metrics) when there are none. */
export function registerTriggers(api: Pick<ApiServer, 'route'>, deps: TriggerDeps): void {
  if (deps.config.triggers.length === 0) return;
  const metrics = new TriggerMetrics(deps.registry);
  for (const trigger of deps.config.triggers) {
    const intake = new S3TriggerIntake({
      trigger,
      region: deps.config.region,
      queue: deps.queue,
      dedup: deps.store,
      metrics,
      ...(deps.dedupWindowMs === undefined ? {} : { dedupWindowMs: deps.dedupWindowMs }),
    });
    const routeDeps = { trigger, intake, queue: deps.queue, metrics, logger: deps.logger };
    // Public: a pusher has its own token (the trigger's), not the API's.
    const path = new RegExp(`^${trigger.path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    api.route('POST', path, (req, res) => handleS3Push(routeDeps, req, res), { public: true });
    api.route('HEAD', path, (req, res) => handleS3Probe(routeDeps, req, res), { public: true });
    deps.logger.info(
      { trigger: trigger.name, path: trigger.path, function: trigger.functionName },
      'trigger registered',
    );
  }
}
