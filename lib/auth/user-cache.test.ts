import { describe, expect, it } from 'vitest';
import { type AuthUser, AuthUserCache } from './user-cache.ts';

const alice: AuthUser = { userId: 'u1', role: 'agent', email: 'a@example.com', name: 'A', isActive: true };

describe('AuthUserCache', () => {
  it('reads once within the TTL and again after it', async () => {
    const cache = new AuthUserCache(2);
    let loads = 0;
    const load = async () => {
      loads++;
      return alice;
    };
    await cache.get('u1', load, 1000);
    await cache.get('u1', load, 2999);
    expect(loads).toBe(1);
    await cache.get('u1', load, 3000);
    expect(loads).toBe(2);
  });

  it('invalidate makes the next request read the current state', async () => {
    const cache = new AuthUserCache(60);
    await cache.get('u1', async () => alice, 0);
    cache.invalidate('u1');
    expect(cache.peek('u1', 1)).toBeUndefined();
    expect(await cache.get('u1', async () => ({ ...alice, isActive: false }), 1)).toMatchObject({ isActive: false });
  });

  it('with TTL 0 reads every time', async () => {
    const cache = new AuthUserCache(0);
    let loads = 0;
    for (let i = 0; i < 3; i++) {
      await cache.get('u1', async () => {
        loads++;
        return alice;
      });
    }
    expect(loads).toBe(3);
  });

  it('stays bounded', async () => {
    const cache = new AuthUserCache(60, 2);
    for (const id of ['a', 'b', 'c']) await cache.get(id, async () => ({ ...alice, userId: id }), 0);
    expect(cache.peek('a', 1)).toBeUndefined();
    expect(cache.peek('c', 1)?.userId).toBe('c');
  });
});
