// Anchor: the same JSON route on Fastify with its defaults (logger off).
import Fastify from 'fastify';
import { announceListening } from '../support/announce.ts';
import { BENCH_JSON, BENCH_JSON_PATH } from '../support/payload.ts';

const app = Fastify();
app.get(BENCH_JSON_PATH, async () => BENCH_JSON);

await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('fastify did not bind a TCP port');
announceListening(address.port, () => app.close());
