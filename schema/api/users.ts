import { z } from '@hono/zod-openapi';
import { EmailSchema, NameSchema, PasswordSchema, RoleSchema, UuidSchema } from './common.ts';

export const UserSchema = z
  .object({
    id: UuidSchema,
    email: z.string(),
    name: z.string(),
    role: RoleSchema,
    isActive: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
    lastLoginAt: z.string().nullable(),
  })
  .openapi('User');

export const UserPageSchema = z
  .object({ items: z.array(UserSchema), nextCursor: z.string().nullable() })
  .openapi('UserPage');

// Strict objects: a body that tries to set anything else (id, password_hash, ...) is a 400.
export const CreateUserSchema = z
  .strictObject({ email: EmailSchema, name: NameSchema, role: RoleSchema, password: PasswordSchema })
  .openapi('CreateUser');

export const UpdateUserSchema = z
  .strictObject({ name: NameSchema.optional(), role: RoleSchema.optional(), isActive: z.boolean().optional() })
  .refine((v) => Object.keys(v).length > 0, 'set at least one of name, role, isActive')
  .openapi('UpdateUser');

export const ResetPasswordSchema = z.strictObject({ password: PasswordSchema }).openapi('ResetPassword');

export const UserIdParamSchema = z.strictObject({ id: UuidSchema.openapi({ param: { name: 'id', in: 'path' } }) });
