import { Agent, request } from 'node:http';

type Answer = { status: number; body: string };

function get(
  port: number,
  path: string,
  options: { agent: Agent | false; headers?: Record<string, string>; timeoutMs: number },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { agent, headers, timeoutMs } = options;
    const req = request({ host: '127.0.0.1', port, path, agent, headers, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** One GET on a fresh connection (no keep-alive agent to hold the server open); resolves status and body. */
export function httpGet(port: number, path: string, timeoutMs = 2_000): Promise<Answer> {
  return get(port, path, { agent: false, timeoutMs });
}

/**
 * GETs one after another over one kept-alive connection, for timing them. Not fetch: its client
 * (undici) kept ~1-2 MB alive through each minor GC of the bench's process, whose 5-14 ms pauses
 * then landed on the requests being timed; node:http's leaves next to nothing (0.5 ms pauses).
 */
export function keptAliveGetter(port: number, headers: Record<string, string>, timeoutMs = 60_000) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  return {
    get: (path: string) => get(port, path, { agent, headers, timeoutMs }),
    close: () => agent.destroy(),
  };
}
