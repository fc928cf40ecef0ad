/**
 * Test helpers for the RabbitMQ connector's integration tests: queues with a dead-letter exchange,
 * confirmed publishing, reading a queue out, and the management API (to find and kill a mapping's
 * connection). Real broker only; every queue gets a unique name and is deleted by `cleanup`.
 */
import { connect, type ChannelModel, type Options } from 'amqplib';
import { broker, uniqueName } from '../brokers/endpoints.ts';

export function rabbit(): { amqpUrl: string; managementUrl: string } {
  const { amqpUrl, managementUrl } = broker('rabbitmq');
  if (!amqpUrl || !managementUrl) throw new Error('rabbitmq endpoint lacks amqpUrl/managementUrl');
  return { amqpUrl, managementUrl };
}

/** A call to the management API (credentials from its URL, sent as a header). */
export async function management(method: string, path: string, body?: unknown): Promise<Response> {
  const base = new URL(rabbit().managementUrl);
  const auth = Buffer.from(
    `${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`,
  ).toString('base64');
  base.username = '';
  base.password = '';
  const url = new URL(path.replace(/^\//, ''), base.href.replace(/\/?$/, '/'));
  return fetch(url, {
    method,
    headers: {
      authorization: `Basic ${auth}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Names of the broker's connections whose client named itself `connectionName`. */
export async function connectionsNamed(connectionName: string): Promise<string[]> {
  const res = await management('GET', '/api/connections');
  if (!res.ok) throw new Error(`GET /api/connections → ${res.status}`);
  const list = (await res.json()) as {
    name: string;
    client_properties?: { connection_name?: string };
  }[];
  return list
    .filter((c) => c.client_properties?.connection_name === connectionName)
    .map((c) => c.name);
}

/** Closes connections from the broker side (what an operator or a broker restart does). */
export async function killConnections(connectionName: string): Promise<number> {
  const names = await connectionsNamed(connectionName);
  for (const name of names) {
    await management('DELETE', `/api/connections/${encodeURIComponent(name)}`, undefined);
  }
  return names.length;
}

export interface TestQueue {
  queue: string;
  /** The dead-letter queue bound to the queue's DLX (undefined without one). */
  dlq: string | undefined;
  connection: ChannelModel;
  publish(
    bodies: readonly string[],
    props?: (body: string, i: number) => Options.Publish,
  ): Promise<void>;
  /** Takes (and acks) everything a queue holds now. */
  drain(queue: string): Promise<{ body: string; headers: Record<string, unknown> }[]>;
  messageCount(queue?: string): Promise<number>;
  cleanup(): Promise<void>;
}

export interface QueueOptions {
  type?: 'classic' | 'quorum';
  /** Give the queue a dead-letter exchange with a bound queue. Default true. */
  dlx?: boolean;
  prefix?: string;
}

export async function createQueue(options: QueueOptions = {}): Promise<TestQueue> {
  const connection = await connect(rabbit().amqpUrl);
  const ch = await connection.createConfirmChannel();
  const queue = uniqueName(options.prefix ?? 'rmq');
  const owned = [queue];
  const exchanges: string[] = [];
  let dlq: string | undefined;
  const args: Record<string, unknown> = {};
  if (options.type === 'quorum') args['x-queue-type'] = 'quorum';
  if (options.dlx ?? true) {
    const dlx = `${queue}.dlx`;
    dlq = `${queue}.dlq`;
    await ch.assertExchange(dlx, 'fanout', { durable: false, autoDelete: false });
    await ch.assertQueue(dlq, { durable: true });
    await ch.bindQueue(dlq, dlx, '');
    exchanges.push(dlx);
    owned.push(dlq);
    args['x-dead-letter-exchange'] = dlx;
  }
  await ch.assertQueue(queue, { durable: true, arguments: args });
  return {
    queue,
    dlq,
    connection,
    async publish(bodies, props) {
      for (let i = 0; i < bodies.length; i += 1000) {
        bodies.slice(i, i + 1000).forEach((body, j) => {
          ch.sendToQueue(queue, Buffer.from(body), {
            persistent: true,
            ...(props ? props(body, i + j) : {}),
          });
        });
        await ch.waitForConfirms();
      }
    },
    async drain(name) {
      const reader = await connection.createChannel();
      reader.on('error', () => undefined);
      const out: { body: string; headers: Record<string, unknown> }[] = [];
      for (;;) {
        const msg = await reader.get(name, { noAck: true });
        if (msg === false) break;
        out.push({ body: msg.content.toString(), headers: msg.properties.headers ?? {} });
      }
      await reader.close();
      return out;
    },
    async messageCount(name = queue) {
      const c = await connection.createChannel();
      // A missing queue closes the channel with a 404: an error for the caller, not the process.
      c.on('error', () => undefined);
      const { messageCount } = await c.checkQueue(name);
      await c.close();
      return messageCount;
    },
    async cleanup() {
      const c = await connection.createChannel().catch(() => undefined);
      c?.on('error', () => undefined);
      for (const q of [...owned, `${queue}.sluice-dead-letter`])
        await c?.deleteQueue(q).catch(() => undefined);
      for (const x of exchanges) await c?.deleteExchange(x).catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

/**
 * Publishes one message whose header `key` is an AMQP long string (`S`) holding `bytes` as they
 * are — not UTF-8, say, which amqplib cannot write (it encodes strings from text). The header goes
 * out as a placeholder of the same length, swapped for the bytes in the encoded frame.
 */
export async function publishWithRawLongString(
  connection: ChannelModel,
  queue: string,
  body: string,
  options: Options.Publish & { headers: Record<string, unknown> },
  key: string,
  bytes: Buffer,
): Promise<void> {
  const placeholder = Buffer.alloc(bytes.length);
  for (let i = 0; i < bytes.length; i++) placeholder[i] = 0x41 + ((i * 7 + 3) % 26);
  const ch = await connection.createConfirmChannel();
  const internal = connection as unknown as {
    connection: { channels: { buffer: { write(chunk: Buffer): boolean } }[] };
  };
  const number = (ch as unknown as { ch: number }).ch;
  const sink = internal.connection.channels[number]?.buffer;
  if (!sink) throw new Error('no write buffer for the channel');
  const write = sink.write.bind(sink);
  const marker = Buffer.concat([Buffer.from([key.length]), Buffer.from(key), Buffer.from('S')]);
  sink.write = (chunk: Buffer) => {
    const needle = Buffer.concat([marker, lengthOf(bytes.length), placeholder]);
    const found = chunk.indexOf(needle);
    if (found >= 0) bytes.copy(chunk, found + marker.length + 4);
    return write(chunk);
  };
  ch.sendToQueue(queue, Buffer.from(body), {
    ...options,
    headers: { ...options.headers, [key]: placeholder.toString('latin1') },
  });
  await ch.waitForConfirms();
  await ch.close();
}

function lengthOf(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
