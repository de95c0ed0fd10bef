import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFor } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { loginToken, postJson, seedUser } from './support/users.ts';

describe.each(databaseKinds())('auth flow on %s', (kind) => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    harness = appFor({ DATABASE_URL: database.url });
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  const login = (email: string, password: string) => postJson(harness.app, '/api/auth/login', { email, password });
  const me = (token: string) => harness.app.request('/api/auth/me', { headers: { authorization: `Bearer ${token}` } });

  it('login returns an access token, a refresh token, expiresIn and the user without its hash', async () => {
    const user = await seedUser(database.db, 'manager');
    const res = await login(user.email.toUpperCase(), user.password);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresIn: 900,
      user: { id: user.id, email: user.email, role: 'manager', isActive: true },
    });
    expect(JSON.stringify(res.body)).not.toMatch(/password|pbkdf2/i);
    const who = await me(res.body.accessToken);
    expect(who.status).toBe(200);
    expect((await who.json()).id).toBe(user.id);
  });

  it('a wrong password and an unknown email get the same 401', async () => {
    const user = await seedUser(database.db, 'agent');
    const wrong = await login(user.email, 'not-the-password');
    const unknown = await login('nobody@example.test', 'whatever-password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
  });

  it('refresh rotates: the new pair works and the old refresh token is spent', async () => {
    const user = await seedUser(database.db, 'agent');
    const first = (await login(user.email, user.password)).body;
    const second = await postJson(harness.app, '/api/auth/refresh', { refreshToken: first.refreshToken });
    expect(second.status).toBe(200);
    expect(second.body.refreshToken).not.toBe(first.refreshToken);
    expect((await me(second.body.accessToken)).status).toBe(200);
    const third = await postJson(harness.app, '/api/auth/refresh', { refreshToken: second.body.refreshToken });
    expect(third.status).toBe(200);
  });

  it('a reused refresh token revokes the whole family', async () => {
    const user = await seedUser(database.db, 'agent');
    const first = (await login(user.email, user.password)).body;
    const rotated = (await postJson(harness.app, '/api/auth/refresh', { refreshToken: first.refreshToken })).body;
    const replay = await postJson(harness.app, '/api/auth/refresh', { refreshToken: first.refreshToken });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('UNAUTHORIZED');
    // The legitimate holder's newer token dies with the family.
    const afterReuse = await postJson(harness.app, '/api/auth/refresh', { refreshToken: rotated.refreshToken });
    expect(afterReuse.status).toBe(401);
    // Another login (another family) is untouched.
    expect((await login(user.email, user.password)).status).toBe(200);
  });

  it('logout revokes the family; logging out twice is fine', async () => {
    const user = await seedUser(database.db, 'operator');
    const session = (await login(user.email, user.password)).body;
    expect((await postJson(harness.app, '/api/auth/logout', { refreshToken: session.refreshToken })).status).toBe(204);
    expect((await postJson(harness.app, '/api/auth/logout', { refreshToken: session.refreshToken })).status).toBe(204);
    expect((await postJson(harness.app, '/api/auth/refresh', { refreshToken: session.refreshToken })).status).toBe(401);
  });

  it("a deactivated user's access and refresh tokens stop working at once", async () => {
    const admin = await seedUser(database.db, 'admin');
    const user = await seedUser(database.db, 'agent');
    const adminToken = (await login(admin.email, admin.password)).body.accessToken;
    const session = (await login(user.email, user.password)).body;
    const res = await harness.app.request(`/api/users/${user.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ isActive: false }),
    });
    expect(res.status).toBe(200);
    expect((await me(session.accessToken)).status).toBe(401);
    expect((await postJson(harness.app, '/api/auth/refresh', { refreshToken: session.refreshToken })).status).toBe(401);
    expect((await login(user.email, user.password)).status).toBe(401);
  });

  it('with a long user cache, deactivation through the API still applies at once', async () => {
    const cached = appFor({ DATABASE_URL: database.url, AUTH_CACHE_TTL: '60' });
    try {
      const admin = await seedUser(database.db, 'admin');
      const user = await seedUser(database.db, 'agent');
      const adminToken = await loginToken(cached.app, admin);
      const token = await loginToken(cached.app, user);
      const asUser = () => cached.app.request('/api/auth/me', { headers: { authorization: `Bearer ${token}` } });
      expect((await asUser()).status).toBe(200); // now cached as active
      await cached.app.request(`/api/users/${user.id}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ isActive: false }),
      });
      expect((await asUser()).status).toBe(401);
    } finally {
      await cached.close();
    }
  });

  it('a user may change their own name but not their role', async () => {
    const user = await seedUser(database.db, 'agent');
    const token = (await login(user.email, user.password)).body.accessToken;
    const patch = (body: unknown) =>
      harness.app.request('/api/auth/me', {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await patch({ name: 'New Name' })).status).toBe(200);
    const escalate = await patch({ name: 'x', role: 'admin' });
    expect(escalate.status).toBe(400);
    expect((await escalate.json()).error.code).toBe('VALIDATION_FAILED');
  });

  it('the last active admin cannot be deactivated or demoted', async () => {
    await database.db.updateTable('users').set({ is_active: false }).where('role', 'in', ['md', 'admin']).execute();
    const admin = await seedUser(database.db, 'md');
    const token = (await login(admin.email, admin.password)).body.accessToken;
    const res = await harness.app.request(`/api/users/${admin.id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'agent' }),
    });
    expect(res.status).toBe(409);
    expect((await res.json()).error.code).toBe('CONFLICT');
  });
});
