import { hashPassword, verifyPassword } from '../lib/auth/password.ts';
import { revokeAllForUser } from '../lib/auth/refresh-tokens.ts';
import { login, logout, refreshSession } from '../lib/auth/service.ts';
import { findUserById, setPasswordHash, toPublicUser, updateUser } from '../lib/users.ts';
import { ChangePasswordSchema, LoginSchema, RefreshSchema, SessionSchema, UpdateMeSchema } from '../schema/api/auth.ts';
import { UserSchema } from '../schema/api/users.ts';
import { createFunction } from './base.ts';
import { ApiError } from './errors.ts';
import { errorResponses, json, jsonBody, route } from './route.ts';

const tags = ['auth'];

const loginRoute = route('public', {
  method: 'post',
  path: '/api/auth/login',
  tags,
  summary: 'Log in with email and password',
  description:
    'Returns a 15-minute access token and a 7-day refresh token. Failed attempts are throttled per client IP and email (429 with Retry-After).',
  request: jsonBody(LoginSchema),
  responses: { 200: json(SessionSchema, 'Logged in'), ...errorResponses(400, 401, 429) },
});

const refreshRoute = route('public', {
  method: 'post',
  path: '/api/auth/refresh',
  tags,
  summary: 'Trade a refresh token for a new pair (rotation)',
  description: 'The presented token is spent. Presenting a spent token again revokes every token of its login (401).',
  request: jsonBody(RefreshSchema),
  responses: { 200: json(SessionSchema, 'New tokens'), ...errorResponses(400, 401) },
});

const logoutRoute = route('public', {
  method: 'post',
  path: '/api/auth/logout',
  tags,
  summary: 'Revoke the refresh token and every token of its login',
  request: jsonBody(RefreshSchema),
  responses: { 204: { description: 'Logged out (also for an unknown token)' }, ...errorResponses(400) },
});

const meRoute = route('authenticated', {
  method: 'get',
  path: '/api/auth/me',
  tags,
  summary: 'The signed-in user',
  responses: { 200: json(UserSchema, 'The user'), ...errorResponses(401) },
});

const updateMeRoute = route('authenticated', {
  method: 'patch',
  path: '/api/auth/me',
  tags,
  summary: 'Change your own name',
  description: 'Only the name; role, email and anything else are refused with 400.',
  request: jsonBody(UpdateMeSchema),
  responses: { 200: json(UserSchema, 'Updated'), ...errorResponses(400, 401) },
});

const changePasswordRoute = route('authenticated', {
  method: 'post',
  path: '/api/auth/change-password',
  tags,
  summary: 'Change your own password',
  description:
    'Needs the current password. Every refresh token of the user is revoked: other devices must log in again.',
  request: jsonBody(ChangePasswordSchema),
  responses: { 204: { description: 'Changed' }, ...errorResponses(400, 401) },
});

export const auth = createFunction()
  .openapi(loginRoute, async (c) => {
    const { db, config } = c.get('services');
    const body = c.req.valid('json');
    const session = await login(db, config.auth, { ...body, ip: c.get('clientIp') });
    return c.json(session, 200);
  })
  .openapi(refreshRoute, async (c) => {
    const { db, config } = c.get('services');
    const session = await refreshSession(db, config.auth, c.req.valid('json').refreshToken);
    return c.json(session, 200);
  })
  .openapi(logoutRoute, async (c) => {
    await logout(c.get('services').db, c.req.valid('json').refreshToken);
    return c.body(null, 204);
  })
  .openapi(meRoute, async (c) => {
    const user = await findUserById(c.get('services').db, c.get('auth')!.userId);
    if (!user) throw new ApiError(401, 'UNAUTHORIZED', 'account is not active');
    return c.json(toPublicUser(user), 200);
  })
  .openapi(updateMeRoute, async (c) => {
    const user = await updateUser(c.get('services').db, c.get('auth')!.userId, { name: c.req.valid('json').name });
    c.get('services').authUsers.invalidate(user.id);
    return c.json(toPublicUser(user), 200);
  })
  .openapi(changePasswordRoute, async (c) => {
    const { db, config } = c.get('services');
    const { currentPassword, newPassword } = c.req.valid('json');
    const user = await findUserById(db, c.get('auth')!.userId);
    if (!user) throw new ApiError(401, 'UNAUTHORIZED', 'account is not active');
    const check = await verifyPassword(currentPassword, user.password_hash, config.auth.password);
    if (!check.ok) {
      throw new ApiError(400, 'VALIDATION_FAILED', 'current password is incorrect', [
        { path: ['currentPassword'], message: 'incorrect' },
      ]);
    }
    await setPasswordHash(db, user.id, await hashPassword(newPassword, config.auth.password));
    await revokeAllForUser(db, user.id);
    return c.body(null, 204);
  });
