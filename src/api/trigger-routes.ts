/**
 * Push triggers: S3-style bucket notifications over HTTP become durable asynchronous invokes.
 * `registerTriggers` adds one POST (and HEAD probe) route per configured trigger to the API server.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ApiServer } from './api-server.ts';
import type { ApiConfig, SluiceConfig } from '../config/types.ts';
import { isLoopbackHost } from '../config/validate-api.ts';
import type { TriggerDedupStore } from '../store/state-store.ts';
import type { AsyncInvokeQueue } from '../lambda/async-invocation.ts';
import { S3TriggerIntake } from '../triggers/s3-trigger-intake.ts';
import { handleS3Probe, handleS3Push } from './s3-trigger-route.ts';
import { TriggerMetrics } from '../triggers/trigger-metrics.ts';

export { DEFAULT_DEDUP_WINDOW_MS } from '../triggers/s3-trigger-intake.ts';
export { TRIGGER_BODY_LIMIT_BYTES } from './s3-trigger-route.ts';

export interface TriggerDeps {
  /** `api.host` tells whether a token-less trigger is reachable from the network (a warning). */
  config: Pick<SluiceConfig, 'triggers' | 'region'> & { api?: Pick<ApiConfig, 'host'> };
  /** The engine's async queue (`AsyncRuntime.queue`). */
  queue: AsyncInvokeQueue;
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
    // Validation lets this through only with api.allowUnauthenticated: true; say so at every start.
    const host = deps.config.api?.host;
    if (trigger.authToken === undefined && host !== undefined && !isLoopbackHost(host)) {
      deps.logger.warn(
        { trigger: trigger.name, path: trigger.path, host },
        'trigger serves the network WITHOUT authentication (no authToken; api.allowUnauthenticated: true): anyone who reaches it can queue invokes',
      );
    }
  }
}
