// The whole Opsbase bundle as `npm start` runs it (config from env, embedded PGlite or
// DATABASE_URL, migrations, every middleware), plus one JSON route the anchors also serve.

import { requireAuth } from '../../functions/middleware/auth.ts';
import { startNodeServer } from '../../functions/node.ts';
import { hashPassword } from '../../lib/auth/password.ts';
import { isRole } from '../../lib/auth/permissions.ts';
import { parseConfigOrExit } from '../../lib/config.ts';
import { createUser, findUserByEmail, setPasswordHash } from '../../lib/users.ts';
import { announceListening } from '../support/announce.ts';
import type { ParentMessage, ServerMessage } from '../support/ipc.ts';
import { BENCH_AUTH_JSON_PATH, BENCH_JSON, BENCH_JSON_PATH } from '../support/payload.ts';

const server = await startNodeServer(parseConfigOrExit(process.env));
// Registered after listen but before the port is announced, so no request has reached the router
// yet (Hono builds its matcher on the first request). It sits behind every app.use() middleware.
server.app.get(BENCH_JSON_PATH, (c) => c.json(BENCH_JSON));
// The same JSON behind authentication (bearer token verified, user read from the database).
server.app.get(BENCH_AUTH_JSON_PATH, requireAuth(), (c) => c.json(BENCH_JSON));
// A user the bench logs in as (BENCH_USER_ROLE, default agent), created through the same code as
// `opsbase user create`; on a database kept between runs it is there already and gets this run's password.
if (process.env.BENCH_USER_EMAIL && process.env.BENCH_USER_PASSWORD) {
  const { db, config } = server.services;
  const passwordHash = await hashPassword(process.env.BENCH_USER_PASSWORD, config.auth.password);
  const existing = await findUserByEmail(db, process.env.BENCH_USER_EMAIL);
  if (existing) await setPasswordHash(db, existing.id, passwordHash);
  else {
    await createUser(db, {
      email: process.env.BENCH_USER_EMAIL,
      name: 'Bench User',
      role: isRole(process.env.BENCH_USER_ROLE) ? process.env.BENCH_USER_ROLE : 'agent',
      passwordHash,
    });
  }
}
// Request logging switched on and off in this one process (bench/logging.ts), so the two sides of
// a comparison share everything else: the JIT's state, the heap, the connections, the core.
process.on('message', (message: ParentMessage) => {
  if (!('requestLogExclude' in message)) return;
  const exclude = server.services.config.requestLogs.exclude;
  exclude.splice(0, exclude.length, ...message.requestLogExclude);
  const answer: ServerMessage = { requestLogExclude: [...exclude] };
  process.send?.(answer);
});
announceListening(server.port, () => server.close());
