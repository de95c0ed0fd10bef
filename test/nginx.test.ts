import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { findNginx, type Nginx, renderSite, startNginx } from './support/nginx.ts';
import { startTestServer, type TestServer } from './support/node-server.ts';
import { waitFor } from './support/processes.ts';

// deploy/nginx's two sites, rendered to loopback ports, in a real nginx in front of the real app.
// nginx comes from Debian (`apt-get install -y nginx`; .ci/run installs it). Without it the suite
// is skipped outside CI and fails in CI.
const nginxBinary = findNginx();
if (!nginxBinary && process.env.CI) throw new Error('nginx is not installed: .ci/run must install it');
const title = nginxBinary
  ? 'deploy/nginx in a real nginx in front of the app'
  : 'deploy/nginx (SKIPPED: nginx is not installed; apt-get install -y nginx)';

type Reply = { status: number; headers: IncomingHttpHeaders; body: Buffer };

/**
 * An HTTP request from a chosen loopback source address (127.0.0.2, ...), so nginx sees a client
 * other than itself and the app's peer (nginx, 127.0.0.1) differs from the real client.
 */
function requestFrom(
  source: string,
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        localAddress: source,
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const json = (reply: Reply) => JSON.parse(reply.body.toString());

/**
 * A stand-in for an upgrade-speaking upstream (Uptime Kuma's dashboard socket): completes the
 * WebSocket handshake and sends one text frame with the request headers it received.
 */
async function startWebSocketUpstream(): Promise<{ port: number; close(): void }> {
  const server: Server = createServer((_req, res) => res.end('plain http'));
  const upgraded = new Set<{ destroy(): void }>();
  server.on('upgrade', (req, socket) => {
    upgraded.add(socket);
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const payload = Buffer.from(JSON.stringify(req.headers));
    // One unmasked text frame (server to client), with a 16-bit length.
    socket.write(Buffer.concat([Buffer.from([0x81, 126, payload.length >> 8, payload.length & 255]), payload]));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close() {
      for (const socket of upgraded) socket.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

function firstWebSocketMessage(url: string): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.onmessage = (event) => {
      resolve(JSON.parse(String(event.data)));
      socket.close();
    };
    socket.onerror = () => reject(new Error(`WebSocket to ${url} failed`));
  });
}

describe.skipIf(!nginxBinary)(title, () => {
  let database: TestDatabase;
  let app: TestServer;
  let upstream: Awaited<ReturnType<typeof startWebSocketUpstream>>;
  let nginx: Nginx;
  let appSiteOnSocket: Nginx;

  beforeAll(async () => {
    // One database kind is enough here: real PostgreSQL when available, else PGlite.
    database = await createTestDatabase(databaseKinds().at(-1) ?? 'pglite');
    app = await startTestServer({ DATABASE_URL: database.url, TRUSTED_PROXIES: '127.0.0.1' });
    upstream = await startWebSocketUpstream();
    nginx = await startNginx(nginxBinary as string, {
      app: (port) => renderSite('opsbase.conf', port, { '127.0.0.1:3000': app.port }),
      status: (port) => renderSite('status.conf', port, { '127.0.0.1:3001': upstream.port }),
    });
    // The app site once more, in its own nginx, in front of the upgrade-speaking stand-in.
    appSiteOnSocket = await startNginx(nginxBinary as string, {
      app: (port) => renderSite('opsbase.conf', port, { '127.0.0.1:3000': upstream.port }),
    });
  }, 120_000);

  afterAll(async () => {
    await nginx?.stop();
    await appSiteOnSocket?.stop();
    upstream?.close();
    await app?.close();
    await database?.drop();
  });

  const loggedRow = (requestId: string) =>
    waitFor(
      () => database.db.selectFrom('request_logs').selectAll().where('request_id', '=', requestId).executeTakeFirst(),
      15_000,
      `request log ${requestId}`,
    );

  it('the client address nginx saw becomes the request log’s IP, and a forged X-Forwarded-For is ignored', async () => {
    const plain = await requestFrom('127.0.0.2', nginx.port('app'), '/api/nowhere', {
      headers: { 'x-request-id': 'via-nginx-1' },
    });
    expect(plain.status).toBe(404);
    expect((await loggedRow('via-nginx-1')).ip).toBe('127.0.0.2');

    // The client claims to be someone else; nginx appends the address it saw, and the app reads
    // from the right, stopping at the first hop that is not a trusted proxy.
    const forged = await requestFrom('127.0.0.2', nginx.port('app'), '/api/nowhere', {
      headers: { 'x-request-id': 'via-nginx-2', 'x-forwarded-for': '203.0.113.66' },
    });
    expect(forged.status).toBe(404);
    expect((await loggedRow('via-nginx-2')).ip).toBe('127.0.0.2');
  });

  it('refuses a body over 10M with 413 in the error envelope before it reaches the app; 9M passes', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024 + 1024, 'a');
    const refused = await requestFrom('127.0.0.4', nginx.port('app'), '/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'too-big' },
      body: big,
    });
    expect(refused.status).toBe(413);
    expect(json(refused).error.code).toBe('PAYLOAD_TOO_LARGE');

    const fits = await requestFrom('127.0.0.4', nginx.port('app'), '/api/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'fits' },
      body: Buffer.from(JSON.stringify({ email: 'a'.repeat(9 * 1024 * 1024), password: 'x' })),
    });
    // The app got it and judged the content (not the size).
    expect(fits.status).toBe(400);
    expect((await loggedRow('fits')).status).toBe(400);
    const appSawTooBig = await database.db
      .selectFrom('request_logs')
      .select('id')
      .where('request_id', '=', 'too-big')
      .executeTakeFirst();
    expect(appSawTooBig).toBeUndefined();
  });

  it('answers 429 past the /api rate (10 r/s, burst 20) in the error envelope, per client address', async () => {
    const replies = await Promise.all(
      Array.from({ length: 60 }, () => requestFrom('127.0.0.3', nginx.port('app'), '/api/nowhere')),
    );
    const limited = replies.filter((r) => r.status === 429);
    // The burst is served at once (nodelay); everything past it within the second is refused.
    expect(replies.filter((r) => r.status === 404).length).toBeGreaterThanOrEqual(21);
    expect(limited.length).toBeGreaterThan(0);
    expect(json(limited[0] as Reply).error.code).toBe('RATE_LIMITED');
    expect((limited[0] as Reply).headers['retry-after']).toBe('1');
    // Another client is not affected, and paths outside /api are not limited.
    expect((await requestFrom('127.0.0.5', nginx.port('app'), '/api/nowhere')).status).toBe(404);
    expect((await requestFrom('127.0.0.3', nginx.port('app'), '/')).status).not.toBe(429);
  });

  it('passes WebSocket upgrades through the status site and the app site', async () => {
    for (const port of [nginx.port('status'), appSiteOnSocket.port('app')]) {
      const seen = await firstWebSocketMessage(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
      expect(seen.upgrade?.toLowerCase()).toBe('websocket');
      expect(seen.connection?.toLowerCase()).toContain('upgrade');
      expect(seen['sec-websocket-key']).toBeTruthy();
      expect(seen['x-forwarded-for']).toBe('127.0.0.1');
      expect(seen['x-forwarded-proto']).toBe('http');
    }
  });

  it('compresses and caches static assets for 30 days', async () => {
    const reply = await requestFrom('127.0.0.6', nginx.port('app'), '/api/docs/assets/swagger-ui.css', {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(reply.body).toString()).toContain('.swagger-ui');
    expect(reply.headers['cache-control']).toBe('max-age=2592000');
    expect(reply.headers.expires).toBeTruthy();
  });
});
