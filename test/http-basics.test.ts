import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appFor } from './support/app.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';

describe('HTTP basics of the bundle', () => {
  let database: TestDatabase;
  let harness: ReturnType<typeof appFor>;
  beforeAll(async () => {
    database = await createTestDatabase('pglite');
    harness = appFor({ DATABASE_URL: database.url, BODY_LIMIT: '1kb' });
    // Routes a later function would add, to exercise the stack around them.
    harness.app.post('/api/echo', async (c) => c.json(await c.req.json()));
    harness.app.get('/api/boom', () => {
      throw new Error('secret internals: password=hunter2');
    });
  });
  afterAll(async () => {
    await harness?.close();
    await database?.drop();
  });

  it('generates an X-Request-Id and puts it in the error envelope', async () => {
    const res = await harness.app.request('/api/nowhere');
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({
      error: { code: 'NOT_FOUND', message: 'No route for GET /api/nowhere', requestId: id },
    });
  });

  it('accepts a sane client X-Request-Id and replaces an unsafe one', async () => {
    const kept = await harness.app.request('/api/health', { headers: { 'X-Request-Id': 'trace-123_abc' } });
    expect(kept.headers.get('x-request-id')).toBe('trace-123_abc');
    const replaced = await harness.app.request('/api/health', {
      headers: { 'X-Request-Id': 'bad id <script>alert(1)</script>' },
    });
    expect(replaced.headers.get('x-request-id')).not.toContain('script');
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a wrong method with 405, Allow and the envelope', async () => {
    const res = await harness.app.request('/api/health', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toContain('GET');
    expect((await res.json()).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('refuses a body over BODY_LIMIT with 413', async () => {
    const res = await harness.app.request('/api/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ blob: 'x'.repeat(4096) }),
    });
    expect(res.status).toBe(413);
    expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
    const small = await harness.app.request('/api/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ok: true }),
    });
    expect(small.status).toBe(200);
  });

  it('hides the error of an unexpected exception behind a 500 envelope', async () => {
    const res = await harness.app.request('/api/boom');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text).error).toMatchObject({ code: 'INTERNAL', message: 'Internal server error' });
    expect(text).not.toContain('hunter2');
    expect(text).not.toMatch(/at .*\.ts:\d+/);
  });

  it('sets secure headers on every response', async () => {
    const res = await harness.app.request('/api/health');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('strict-transport-security')).toContain('max-age=');
  });
});
