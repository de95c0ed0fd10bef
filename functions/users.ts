import { hashPassword } from '../lib/auth/password.ts';
import { can } from '../lib/auth/permissions.ts';
import { revokeAllForUser } from '../lib/auth/refresh-tokens.ts';
import { ConflictError } from '../lib/errors.ts';
import {
  countActiveAdmins,
  createUser,
  findUserById,
  listUsers,
  setPasswordHash,
  toPublicUser,
  updateUser,
} from '../lib/users.ts';
import { PageQuerySchema } from '../schema/api/common.ts';
import {
  CreateUserSchema,
  ResetPasswordSchema,
  UpdateUserSchema,
  UserIdParamSchema,
  UserPageSchema,
  UserSchema,
} from '../schema/api/users.ts';
import { createFunction } from './base.ts';
import { ApiError } from './errors.ts';
import { errorResponses, json, jsonBody, route } from './route.ts';

const tags = ['users'];

const listRoute = route('users:manage', {
  method: 'get',
  path: '/api/users',
  tags,
  summary: 'List users, newest first',
  request: { query: PageQuerySchema },
  responses: { 200: json(UserPageSchema, 'A page of users'), ...errorResponses(400, 401, 403) },
});

const createRoute = route('users:manage', {
  method: 'post',
  path: '/api/users',
  tags,
  summary: 'Create a user',
  request: jsonBody(CreateUserSchema),
  responses: { 201: json(UserSchema, 'Created'), ...errorResponses(400, 401, 403, 409) },
});

const getRoute = route('users:manage', {
  method: 'get',
  path: '/api/users/{id}',
  tags,
  summary: 'One user',
  request: { params: UserIdParamSchema },
  responses: { 200: json(UserSchema, 'The user'), ...errorResponses(400, 401, 403, 404) },
});

const updateRoute = route('users:manage', {
  method: 'patch',
  path: '/api/users/{id}',
  tags,
  summary: 'Change name, role or active state',
  description:
    'Deactivating a user ends their sessions at once. The last active md/admin cannot be demoted or deactivated (409).',
  request: { params: UserIdParamSchema, ...jsonBody(UpdateUserSchema) },
  responses: { 200: json(UserSchema, 'Updated'), ...errorResponses(400, 401, 403, 404, 409) },
});

const resetPasswordRoute = route('users:manage', {
  method: 'post',
  path: '/api/users/{id}/password',
  tags,
  summary: "Reset a user's password",
  description: 'Every session of the user ends.',
  request: { params: UserIdParamSchema, ...jsonBody(ResetPasswordSchema) },
  responses: { 204: { description: 'Reset' }, ...errorResponses(400, 401, 403, 404) },
});

export const users = createFunction()
  .openapi(listRoute, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    return c.json(await listUsers(c.get('services').db, { limit, cursor }), 200);
  })
  .openapi(createRoute, async (c) => {
    const { db, config } = c.get('services');
    const body = c.req.valid('json');
    const user = await createUser(db, {
      ...body,
      passwordHash: await hashPassword(body.password, config.auth.password),
    });
    return c.json(toPublicUser(user), 201);
  })
  .openapi(getRoute, async (c) => {
    const user = await findUserById(c.get('services').db, c.req.valid('param').id);
    if (!user) throw new ApiError(404, 'NOT_FOUND', 'user not found');
    return c.json(toPublicUser(user), 200);
  })
  .openapi(updateRoute, async (c) => {
    const { db } = c.get('services');
    const { id } = c.req.valid('param');
    const patch = c.req.valid('json');
    const current = await findUserById(db, id);
    if (!current) throw new ApiError(404, 'NOT_FOUND', 'user not found');
    const losesAdmin =
      current.is_active &&
      can(current.role, 'admin:access') &&
      (patch.isActive === false || (patch.role !== undefined && !can(patch.role, 'admin:access')));
    if (losesAdmin && (await countActiveAdmins(db)) <= 1) {
      throw new ConflictError('this is the last active md/admin account; promote another user first');
    }
    const user = await updateUser(db, id, patch);
    if (patch.isActive === false) await revokeAllForUser(db, id);
    c.get('services').authUsers.invalidate(id);
    return c.json(toPublicUser(user), 200);
  })
  .openapi(resetPasswordRoute, async (c) => {
    const { db, config } = c.get('services');
    const { id } = c.req.valid('param');
    await setPasswordHash(db, id, await hashPassword(c.req.valid('json').password, config.auth.password));
    await revokeAllForUser(db, id);
    c.get('services').authUsers.invalidate(id);
    return c.body(null, 204);
  });
