// The whole Opsbase bundle as `npm start` runs it (config from env, embedded PGlite or
// DATABASE_URL, migrations, every middleware), plus one JSON route the anchors also serve.
import { startNodeServer } from '../../functions/node.ts';
import { parseConfigOrExit } from '../../lib/config.ts';
import { announceListening } from '../support/announce.ts';
import { BENCH_JSON, BENCH_JSON_PATH } from '../support/payload.ts';

const server = await startNodeServer(parseConfigOrExit(process.env));
// Registered after listen but before the port is announced, so no request has reached the router
// yet (Hono builds its matcher on the first request). It sits behind every app.use() middleware.
server.app.get(BENCH_JSON_PATH, (c) => c.json(BENCH_JSON));
announceListening(server.port, () => server.close());
