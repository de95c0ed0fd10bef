import { z } from '@hono/zod-openapi';
import { EmailSchema, NameSchema, PasswordSchema } from './common.ts';
import { UserSchema } from './users.ts';

export const LoginSchema = z
  .strictObject({ email: EmailSchema, password: z.string().min(1).max(256) })
  .openapi('Login');

export const RefreshSchema = z.strictObject({ refreshToken: z.string().min(1).max(256) }).openapi('Refresh');

export const SessionSchema = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    expiresIn: z.number().openapi({ description: 'seconds until the access token expires' }),
    user: UserSchema,
  })
  .openapi('Session');

export const UpdateMeSchema = z.strictObject({ name: NameSchema }).openapi('UpdateMe');

export const ChangePasswordSchema = z
  .strictObject({ currentPassword: z.string().min(1).max(256), newPassword: PasswordSchema })
  .openapi('ChangePassword');
