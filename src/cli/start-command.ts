import { loadConfig } from '../app/config.ts';
import { Engine } from '../app/sluice-app.ts';
import { exitByMs, shutdownMarginMs } from '../app/shutdown-plan.ts';
import { createLogger, type Logger } from '../observability/logger.ts';

export interface StartOptions {
  configPath: string;
  pretty: boolean;
  /**
   * At SIGTERM, the process has exited within this (default 30 000 ms), less a margin of
   * max(500 ms, 5 %): whoever sends SIGTERM may SIGKILL after it.
   */
  shutdownTimeoutMs: number | undefined;
}

/**
 * `sluice start`: runs until SIGTERM/SIGINT, then drains and exits before the deadline. A second
 * signal forces an immediate exit. Config errors stop start-up before anything starts.
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
        logger.flush();
        // No function process may outlive the engine (they run in their own process groups).
        engine.forceStop();
        process.exit(130);
      }
      const deadlineMs = options.shutdownTimeoutMs ?? 30_000;
      const exitAfterMs = exitByMs(deadlineMs);
      logger.info(
        { signal, deadlineMs, exitByMs: exitAfterMs, marginMs: shutdownMarginMs(deadlineMs) },
        'shutting down',
      );
      let code: number | undefined;
      exitAtDeadline(engine, logger, exitAfterMs, () => code);
      engine
        .stop(exitAfterMs)
        .then((report) => {
          code = report.abandonedInvokes + report.abandonedBatches > 0 ? 1 : 0;
          resolve(code);
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          code = 1;
          resolve(code);
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

/**
 * The last resort that keeps the deadline: whatever still runs at `exitAfterMs` (a phase that did
 * not honour its bound, a handle that keeps the event loop alive), the process exits then — after
 * a final log line, with every function process killed and the store closed. The timer does not
 * keep the process alive by itself.
 */
function exitAtDeadline(
  engine: Engine,
  logger: Logger,
  exitAfterMs: number,
  code: () => number | undefined,
): void {
  setTimeout(() => {
    const stopped = code();
    if (stopped === undefined)
      logger.error({ exitByMs: exitAfterMs }, 'shutdown deadline reached: exiting now');
    else logger.warn({ exitByMs: exitAfterMs }, 'stopped, but something held the process: exiting');
    logger.flush();
    engine.forceStop();
    process.exit(stopped ?? 1);
  }, exitAfterMs).unref();
}
