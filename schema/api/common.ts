import { z } from '@hono/zod-openapi';
import { MAX_PAGE_SIZE } from '../../lib/pagination.ts';

export const EmailSchema = z.email().max(254).openapi({ example: 'admin@example.com' });
export const PasswordSchema = z
  .string()
  .min(8, 'at least 8 characters')
  .max(256)
  .openapi({ example: 'correct horse battery' });
export const NameSchema = z.string().trim().min(1).max(200).openapi({ example: 'Dana Admin' });
export const RoleSchema = z.enum(['md', 'admin', 'manager', 'agent', 'operator']).openapi('Role');
export const UuidSchema = z.uuid();

export const PageQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50).openapi({ example: 50 }),
  cursor: z.string().max(512).optional().openapi({ description: 'nextCursor from the previous page' }),
});
