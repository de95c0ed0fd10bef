// Anchor: the same JSON route on a bare Hono app with @hono/node-server, no middleware.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { announceListening } from '../support/announce.ts';
import { BENCH_JSON, BENCH_JSON_PATH } from '../support/payload.ts';

const app = new Hono();
app.get(BENCH_JSON_PATH, (c) => c.json(BENCH_JSON));

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) =>
  announceListening(info.port, () => new Promise((done) => server.close(() => done()))),
);
