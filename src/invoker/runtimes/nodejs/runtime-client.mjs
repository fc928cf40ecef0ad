// A minimal HTTP/1.1 client for the Runtime API over one kept-alive TCP socket. `node:http` is not
// used on purpose: importing it costs ~20 ms of every cold start, about as much as booting Node.
// The peer is sluice's own Runtime API server, which always sends Content-Length and answers
// requests in the order they were sent (HTTP/1.1), so responses are matched to a FIFO of callers.
import { net } from './builtins.mjs';

const HEADER_END = Buffer.from('\r\n\r\n');

/** Header values must be one line of printable ASCII (an error name could be anything). */
function headerValue(value) {
  return String(value).replace(/[^\x20-\x7e]/g, '');
}

export function createRuntimeClient(address) {
  const [host, portText] = address.split(':');
  const port = Number(portText);
  let socket;
  let buffered = Buffer.alloc(0);
  /** Callers waiting for a response, in the order their requests were written. */
  let pending = [];

  function open() {
    if (socket && !socket.destroyed) return socket;
    buffered = Buffer.alloc(0);
    socket = net.connect({ host, port, noDelay: true });
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (pending.length > 0 && parseOne());
    });
    const fail = (error) => {
      const waiting = pending;
      pending = [];
      for (const w of waiting) w.reject(error ?? new Error('Runtime API connection closed'));
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
    return socket;
  }

  /** Settles the oldest caller when its whole response is buffered; false when it is not yet. */
  function parseOne() {
    const headerEnd = buffered.indexOf(HEADER_END);
    if (headerEnd < 0) return false;
    const lines = buffered.subarray(0, headerEnd).toString('latin1').split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      if (colon > 0)
        headers[lines[i].slice(0, colon).trim().toLowerCase()] = lines[i].slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const bodyStart = headerEnd + HEADER_END.length;
    if (buffered.length < bodyStart + length) return false;
    const body = buffered.subarray(bodyStart, bodyStart + length);
    buffered = buffered.subarray(bodyStart + length);
    const waiting = pending.shift();
    // An idle socket must not keep the event loop alive (callbackWaitsForEmptyEventLoop relies
    // on the loop emptying while a handler runs), like an idle http.Agent socket.
    if (pending.length === 0) socket.unref();
    if (headers.connection === 'close') socket.destroy();
    waiting.resolve({ status, headers, body });
    return true;
  }

  function request(method, path, body, headers) {
    let head = `${method} ${path} HTTP/1.1\r\nHost: ${address}\r\n`;
    if (headers)
      for (const key of Object.keys(headers)) head += `${key}: ${headerValue(headers[key])}\r\n`;
    if (body === undefined) return Buffer.from(`${head}\r\n`, 'latin1');
    const payload = Buffer.from(body, 'utf8');
    head += `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
  }

  /** Writes the requests in one write; one promise per request, in order. */
  function send(requests) {
    const s = open();
    s.ref();
    const promises = requests.map(
      () => new Promise((resolve, reject) => pending.push({ resolve, reject })),
    );
    const bytes = requests.map(([method, path, body, headers]) =>
      request(method, path, body, headers),
    );
    s.write(bytes.length === 1 ? bytes[0] : Buffer.concat(bytes));
    return promises;
  }

  /** One request; resolves with `{status, headers, body}` and rejects when the API is gone. */
  function call(method, path, body, headers) {
    return send([[method, path, body, headers]])[0];
  }

  /**
   * Posts an invocation's result and asks for the next invocation in the same write (HTTP/1.1
   * pipelining). The runtime does nothing between the two, so waiting for the 202 first would
   * only cost a round trip and a wake-up of each process per invoke. Resolves `[post, next]`.
   */
  function postThenNext(path, body, headers, nextPath) {
    return send([
      ['POST', path, body, headers],
      ['GET', nextPath, undefined, undefined],
    ]);
  }

  return { call, postThenNext };
}
