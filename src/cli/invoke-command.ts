import { loadConfig } from '../app/config.ts';
import { Engine } from '../app/sluice-app.ts';
import { silentLogger } from '../observability/logger.ts';

export interface InvokeCommandOptions {
  configPath: string;
  functionName: string;
  payload: string;
  invocationType: string;
}

/**
 * `sluice invoke`: through the API of a running engine when one answers at the config's API
 * address (so it shares that engine's warm environments and ceilings), else in-process once.
 */
export async function runInvoke(options: InvokeCommandOptions): Promise<number> {
  const config = await loadConfig(options.configPath);
  const base = `http://${config.api.host === '0.0.0.0' ? '127.0.0.1' : config.api.host}:${config.api.port}`;
  if (await answers(`${base}/healthz`))
    return invokeThroughApi(base, config.api.authToken, options);

  if (options.invocationType !== 'RequestResponse') {
    process.stderr.write(
      `sluice invoke: ${options.invocationType} needs a running engine (none answers at ${base})\n`,
    );
    return 2;
  }
  const lines: string[] = [];
  const engine = new Engine(config, {
    logger: silentLogger(),
    services: 'invoker',
    onLog: (l) => lines.push(l.text),
  });
  try {
    await engine.start();
    const result = await engine.invoker.invoke(
      options.functionName,
      { payload: Buffer.from(options.payload) },
      { whenFull: 'wait' },
    );
    for (const line of lines) process.stderr.write(`${line}\n`);
    process.stdout.write(`${result.payload.toString('utf8')}\n`);
    return result.ok ? 0 : 1;
  } finally {
    await engine.stop(5000);
  }
}

async function invokeThroughApi(
  base: string,
  token: string | undefined,
  options: InvokeCommandOptions,
): Promise<number> {
  const res = await fetch(
    `${base}/2015-03-31/functions/${encodeURIComponent(options.functionName)}/invocations`,
    {
      method: 'POST',
      headers: {
        'X-Amz-Invocation-Type': options.invocationType,
        'X-Amz-Log-Type': 'Tail',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: options.payload,
    },
  );
  const log = res.headers.get('x-amz-log-result');
  if (log) process.stderr.write(Buffer.from(log, 'base64').toString('utf8'));
  const text = await res.text();
  if (text) process.stdout.write(`${text}\n`);
  else process.stdout.write(`${res.status}\n`);
  if (res.status >= 400) return 1;
  return res.headers.get('x-amz-function-error') ? 1 : 0;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(500) });
    return res.ok;
  } catch {
    return false;
  }
}
