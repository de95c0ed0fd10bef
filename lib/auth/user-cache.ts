import type { Role } from '../../schema/database.ts';

export type AuthUser = { userId: string; role: Role; email: string; name: string; isActive: boolean };

/**
 * Who a token's user is right now (role, active), remembered for a moment so an authenticated
 * request does not always read the database. Changes made through this process invalidate at
 * once; other replicas (and the CLI) are seen within the TTL. TTL 0 reads every time.
 */
export class AuthUserCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, { user: AuthUser | null; expires: number }>();

  constructor(ttlSeconds: number, maxEntries = 10_000) {
    this.#ttlMs = ttlSeconds * 1000;
    this.#maxEntries = maxEntries;
  }

  /** A fresh cached entry (null = known missing), or undefined when it must be loaded. */
  peek(userId: string, now = Date.now()): AuthUser | null | undefined {
    const hit = this.#entries.get(userId);
    return hit && hit.expires > now ? hit.user : undefined;
  }

  async get(
    userId: string,
    load: (id: string) => Promise<AuthUser | null>,
    now = Date.now(),
  ): Promise<AuthUser | null> {
    if (this.#ttlMs === 0) return load(userId);
    const hit = this.peek(userId, now);
    if (hit !== undefined) return hit;
    const user = await load(userId);
    if (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    this.#entries.set(userId, { user, expires: now + this.#ttlMs });
    return user;
  }

  invalidate(userId: string): void {
    this.#entries.delete(userId);
  }
}
