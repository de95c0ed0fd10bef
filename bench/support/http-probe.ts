import { Agent, request } from 'node:http';

type Answer = { status: number; body: string };

/** One HTTP request to the bench's server on loopback. */
export type HttpCall = {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  /** Sent as is, with its Content-Length. */
  body?: string;
  timeoutMs: number;
};

/** A request that had no whole answer within its time (named as fetch's AbortSignal.timeout names it). */
class RequestTimeout extends Error {
  override name = 'TimeoutError';
}

function send(port: number, call: HttpCall, agent: Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { method = 'GET', path, body, timeoutMs } = call;
    const headers =
      body === undefined ? call.headers : { ...call.headers, 'content-length': String(Buffer.byteLength(body)) };
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: text });
      });
      res.on('error', reject);
    });
    // The whole exchange, to the last byte of the answer (the socket's idle timeout would not
    // count a slow trickle).
    const timer = setTimeout(
      () => req.destroy(new RequestTimeout(`${method} ${path} had no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}

/** One GET on a fresh connection (no keep-alive agent to hold the server open); resolves status and body. */
export function httpGet(port: number, path: string, timeoutMs = 2_000): Promise<Answer> {
  return send(port, { path, timeoutMs }, false);
}

/**
 * Requests one after another over one kept-alive connection, for timing them. Not fetch: its
 * client (undici) kept ~1-2 MB alive through each minor GC of the bench's process, whose 5-14 ms
 * pauses then landed on the requests being timed; node:http's leaves next to nothing (0.5 ms pauses).
 */
export function keptAliveClient(port: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    request: (call: HttpCall) => send(port, call, agent),
    close: () => agent.destroy(),
  };
}

/** GETs with the same headers over one kept-alive connection (keptAliveClient). */
export function keptAliveGetter(port: number, headers: Record<string, string>, timeoutMs = 60_000) {
  const client = keptAliveClient(port);
  return {
    get: (path: string) => client.request({ path, headers, timeoutMs }),
    close: client.close,
  };
}
