/** Cross-field checks of `connections`: broker addresses, TLS files, URLs. */
import { resolve } from 'node:path';
import { showValue } from './config-error.ts';
import type { CheckInputs, Obj, Problems } from './check-context.ts';
import { isObj, objAt, str } from './check-context.ts';

/** `a:9092,b:9092` or a list → trimmed entries. */
export function bootstrapList(value: unknown): string[] | undefined {
  if (typeof value === 'string')
    return value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (Array.isArray(value) && value.every((v) => typeof v === 'string'))
    return value.map((s) => s.trim());
  return undefined;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

function checkKafka(name: string, c: Obj, inputs: CheckInputs, problems: Problems): void {
  const path = ['connections', name, 'bootstrapServers'];
  const servers = bootstrapList(c.bootstrapServers);
  if (servers !== undefined) {
    if (servers.length === 0 || servers.length > 10) {
      problems.add(path, `must list 1 to 10 host:port brokers, got ${servers.length}`);
    }
    servers.forEach((server, index) => {
      const match = HOST_PORT.exec(server);
      const port = match === null ? NaN : Number(match[2]);
      if (!(port >= 1 && port <= 65535)) {
        const at = Array.isArray(c.bootstrapServers) ? [...path, index] : path;
        problems.add(at, `must be host:port (e.g. 127.0.0.1:9092), got ${showValue(server, at)}`);
      }
    });
  }
  const ssl = objAt(c, 'ssl');
  if (ssl !== undefined) {
    for (const key of ['ca', 'cert', 'key']) {
      const file = str(ssl[key]);
      if (file === undefined) continue;
      const absolute = resolve(inputs.baseDir, file);
      if (!inputs.fileExists(absolute)) {
        problems.add(
          ['connections', name, 'ssl', key],
          `must be an existing PEM file (relative to the config file), got ${JSON.stringify(file)}: ${absolute} does not exist`,
        );
      }
    }
    if ((ssl.cert === undefined) !== (ssl.key === undefined)) {
      const missing = ssl.cert === undefined ? 'cert' : 'key';
      problems.add(
        ['connections', name, 'ssl', missing],
        'is required with ssl.cert / ssl.key: mTLS needs both',
        {
          target: 'key',
        },
      );
    }
  }
}

function checkUrl(path: (string | number)[], value: unknown, problems: Problems): void {
  const text = str(value);
  if (text === undefined) return;
  if (!URL.canParse(text)) problems.add(path, `must be a URL, got ${showValue(text, path)}`);
}

export function checkConnections(doc: unknown, inputs: CheckInputs, problems: Problems): void {
  for (const [name, c] of Object.entries(objAt(doc, 'connections') ?? {})) {
    if (!isObj(c)) continue;
    if (c.type === 'kafka') checkKafka(name, c, inputs, problems);
    if (c.type === 'sqs') checkUrl(['connections', name, 'endpoint'], c.endpoint, problems);
    if (c.type === 'rabbitmq') checkUrl(['connections', name, 'url'], c.url, problems);
  }
}
