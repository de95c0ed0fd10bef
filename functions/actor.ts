import type { Context } from 'hono';
import type { Actor } from '../lib/vending/tasks.ts';
import type { AppEnv } from './context.ts';
import { ApiError } from './errors.ts';

/** The signed-in caller as lib/ sees them (requireAuth has run). */
export function actorOf(c: Context<AppEnv>): Actor {
  const auth = c.get('auth');
  if (!auth)
    throw new ApiError(401, 'UNAUTHORIZED', 'authentication required', undefined, { 'WWW-Authenticate': 'Bearer' });
  return { userId: auth.userId, role: auth.role };
}
