import { loadConfig } from '../config/load-config.ts';
import { Engine } from '../engine/engine.ts';
import { createLogger } from '../observability/logger.ts';

export interface StartOptions {
  configPath: string;
  pretty: boolean;
  /** Deadline for in-flight work at SIGTERM; default 30 000 ms. */
  shutdownTimeoutMs: number | undefined;
}

/**
 * `sluice start`: runs until SIGTERM/SIGINT, then drains within the deadline. A second signal
 * forces an immediate exit. Config errors stop start-up before anything starts.
 */
export async function runStart(options: StartOptions): Promise<number> {
  const config = await loadConfig(options.configPath);
  const logger = createLogger({
    level: config.logging.level,
    format: options.pretty ? 'pretty' : config.logging.format,
  });
  const engine = new Engine(config, { logger });
  let signals = 0;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      signals += 1;
      if (signals > 1) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      logger.info({ signal, deadlineMs: options.shutdownTimeoutMs ?? 30_000 }, 'shutting down');
      engine
        .stop(options.shutdownTimeoutMs ?? 30_000)
        .then((report) => resolve(report.abandonedInvokes + report.abandonedBatches > 0 ? 1 : 0))
        .catch((err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          resolve(1);
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  try {
    await engine.start();
  } catch (err) {
    logger.error({ err }, 'start-up failed');
    await engine.stop(1000);
    throw err;
  }
  return stopped;
}
