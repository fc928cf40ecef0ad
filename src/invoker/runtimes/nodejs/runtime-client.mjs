// A minimal HTTP/1.1 client for the Runtime API over one kept-alive TCP socket. `node:http` is not
// used on purpose: importing it costs ~20 ms of every cold start, about as much as booting Node.
// The peer is sluice's own Runtime API server, which always sends Content-Length; calls are
// strictly sequential (the runtime loop never has two requests in flight).
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
  let pending;

  function open() {
    if (socket && !socket.destroyed) return socket;
    buffered = Buffer.alloc(0);
    socket = net.connect({ host, port, noDelay: true });
    socket.on('data', (chunk) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      parse();
    });
    const fail = (error) => {
      const waiting = pending;
      pending = undefined;
      if (waiting) waiting.reject(error ?? new Error('Runtime API connection closed'));
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
    return socket;
  }

  function parse() {
    if (!pending) return;
    const headerEnd = buffered.indexOf(HEADER_END);
    if (headerEnd < 0) return;
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
    if (buffered.length < bodyStart + length) return;
    const body = buffered.subarray(bodyStart, bodyStart + length);
    buffered = buffered.subarray(bodyStart + length);
    const waiting = pending;
    pending = undefined;
    // An idle socket must not keep the event loop alive (callbackWaitsForEmptyEventLoop relies
    // on the loop emptying while a handler runs), like an idle http.Agent socket.
    socket.unref();
    if (headers.connection === 'close') socket.destroy();
    waiting.resolve({ status, headers, body });
  }

  /** One request; resolves with `{status, headers, body}` and rejects when the API is gone. */
  function call(method, path, body, headers) {
    return new Promise((resolve, reject) => {
      pending = { resolve, reject };
      const s = open();
      s.ref();
      let head = `${method} ${path} HTTP/1.1\r\nHost: ${address}\r\n`;
      if (headers)
        for (const key of Object.keys(headers)) head += `${key}: ${headerValue(headers[key])}\r\n`;
      if (body === undefined) {
        s.write(`${head}\r\n`, 'latin1');
        return;
      }
      const payload = Buffer.from(body, 'utf8');
      head += `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`;
      s.write(Buffer.concat([Buffer.from(head, 'latin1'), payload]));
    });
  }

  return { call };
}
