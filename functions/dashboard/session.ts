import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { can } from '../../lib/auth/permissions.ts';
import { RefreshTokenError } from '../../lib/auth/refresh-tokens.ts';
import { resumeSession } from '../../lib/auth/service.ts';
import { type AccessClaims, InvalidTokenError, verifyAccessToken } from '../../lib/auth/tokens.ts';
import { isDatabaseUnavailable } from '../../lib/errors.ts';
import { inRanges } from '../../lib/net.ts';
import { TimeoutError, withTimeout } from '../../lib/runtime.ts';
import { findUserById } from '../../lib/users.ts';
import type { AppEnv } from '../context.ts';

// The dashboard's session, built from the API's own pieces: login() (password check, throttling)
// starts a refresh-token family; the browser holds that refresh token and a short access token in
// two HttpOnly, SameSite=Strict cookies scoped to /admin. Every page verifies the access token
// (no database read but the user's role and active state, as the API does); when it has expired
// the refresh token buys a new one without being rotated (pages load in parallel and would trip
// rotation's reuse detection). The session ends when the refresh token expires or its family is
// revoked: logout, password change, deactivation.

export const SESSION_COOKIE = 'opsbase_session';
export const REFRESH_COOKIE = 'opsbase_refresh';
const COOKIE_PATH = '/admin';

/** The app's env plus what the session middleware adds on top of AppEnv's `auth`. */
export type DashboardEnv = {
  Bindings: AppEnv['Bindings'];
  Variables: AppEnv['Variables'] & {
    /** The database could not be reached to confirm the user; the signed token's role was used. */
    sessionDegraded: boolean;
  };
};
type DashboardContext = Context<DashboardEnv>;

/** https as the browser sees it: the request URL (Workers), or a trusted proxy's X-Forwarded-Proto (Node behind nginx). */
export function isHttps(c: DashboardContext): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  const proto = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  const peer: string | undefined = c.env?.incoming?.socket?.remoteAddress;
  return proto === 'https' && !!peer && inRanges(peer, c.get('services').config.trustedProxies);
}

/** The origin the browser is on: scheme as above, host from the Host header a proxy passes on. */
export function ownOrigin(c: DashboardContext): string {
  const host = c.req.header('host') ?? new URL(c.req.url).host;
  return `${isHttps(c) ? 'https' : 'http'}://${host}`;
}

/** CSRF: a state-changing request must say it comes from this origin. Browsers send Origin on every POST. */
export function isSameOriginPost(c: DashboardContext): boolean {
  const origin = c.req.header('origin');
  return !!origin && origin !== 'null' && origin === ownOrigin(c);
}

function cookieOptions(c: DashboardContext, maxAgeSeconds: number) {
  return {
    path: COOKIE_PATH,
    httpOnly: true,
    secure: isHttps(c),
    sameSite: 'Strict' as const,
    maxAge: Math.max(0, Math.floor(maxAgeSeconds)),
  };
}

export function setSessionCookies(
  c: DashboardContext,
  tokens: { accessToken: string; accessTtlSeconds: number; refreshToken?: string; refreshTtlSeconds?: number },
): void {
  setCookie(c, SESSION_COOKIE, tokens.accessToken, cookieOptions(c, tokens.accessTtlSeconds));
  if (tokens.refreshToken && tokens.refreshTtlSeconds) {
    setCookie(c, REFRESH_COOKIE, tokens.refreshToken, cookieOptions(c, tokens.refreshTtlSeconds));
  }
}

export function clearSessionCookies(c: DashboardContext): void {
  deleteCookie(c, SESSION_COOKIE, { path: COOKIE_PATH, secure: isHttps(c), httpOnly: true, sameSite: 'Strict' });
  deleteCookie(c, REFRESH_COOKIE, { path: COOKIE_PATH, secure: isHttps(c), httpOnly: true, sameSite: 'Strict' });
}

export function refreshCookie(c: DashboardContext): string | undefined {
  return getCookie(c, REFRESH_COOKIE);
}

/** Where to go after login: a dashboard path only, never another site. */
export function safeNext(next: string | undefined): string {
  return next && /^\/admin\/[^\s\\]*$/.test(next) && !next.startsWith('//') ? next : '/admin/system';
}

/** Verifies the access cookie, or renews it from the refresh cookie. null: no usable session. */
async function sessionClaims(c: DashboardContext): Promise<AccessClaims | null> {
  const { config, db } = c.get('services');
  const access = getCookie(c, SESSION_COOKIE);
  if (access) {
    try {
      return await verifyAccessToken(config.auth.tokens, access);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      // expired or forged: fall through to the refresh cookie
    }
  }
  const refresh = refreshCookie(c);
  if (!refresh || refresh.length > 256) return null;
  try {
    const resumed = await resumeSession(db, config.auth, refresh);
    setSessionCookies(c, { accessToken: resumed.accessToken, accessTtlSeconds: resumed.expiresIn });
    return { userId: resumed.user.id, role: resumed.user.role };
  } catch (error) {
    if (error instanceof RefreshTokenError) return null;
    throw error;
  }
}

/**
 * Signed-in md/admin only. No session (or a forged, expired or revoked one): to the login page,
 * with the cookies cleared. Signed in without admin:access: the forbidden page. When the
 * database cannot confirm the user, the signed token's role is used and the page says so: the
 * dashboard is what an owner opens when the database is down.
 */
export function requireDashboardAdmin(
  forbidden: (c: DashboardContext, role: string) => Response | Promise<Response>,
): MiddlewareHandler<DashboardEnv> {
  return async function requireDashboardAdmin(c, next) {
    const claims = await sessionClaims(c);
    const toLogin = () => {
      if (getCookie(c, SESSION_COOKIE) || getCookie(c, REFRESH_COOKIE)) clearSessionCookies(c);
      const here = c.req.method === 'GET' ? new URL(c.req.url) : null;
      const next = here ? `?next=${encodeURIComponent(here.pathname + here.search)}` : '';
      return c.redirect(`/admin/login${next}`, 303);
    };
    if (!claims) return toLogin();
    const { db, authUsers, config } = c.get('services');
    let user: { role: typeof claims.role; email: string; name: string; isActive: boolean } | null;
    let degraded = false;
    try {
      user =
        authUsers.peek(claims.userId) ??
        (await authUsers.get(claims.userId, async (id) => {
          const row = await withTimeout(findUserById(db, id), config.healthTimeoutMs, 'user lookup');
          return row
            ? { userId: row.id, role: row.role, email: row.email, name: row.name, isActive: row.is_active }
            : null;
        }));
    } catch (error) {
      if (!isDatabaseUnavailable(error) && !(error instanceof TimeoutError)) throw error;
      user = { role: claims.role, email: '', name: 'signed-in user', isActive: true };
      degraded = true;
    }
    if (!user?.isActive) return toLogin();
    c.set('auth', { userId: claims.userId, role: user.role, email: user.email, name: user.name });
    c.set('sessionDegraded', degraded);
    if (!can(user.role, 'admin:access')) return forbidden(c, user.role);
    await next();
  };
}
