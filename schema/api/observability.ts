import { z } from '@hono/zod-openapi';
import { MAX_PAGE_SIZE } from '../../lib/pagination.ts';

const isoDate = z.iso.datetime({ offset: true }).transform((v) => new Date(v));
const range = <T extends { from?: Date; to?: Date }>(q: T) => !q.from || !q.to || q.from < q.to;

export const LogQuerySchema = z
  .strictObject({
    from: isoDate.optional().openapi({ type: 'string', format: 'date-time' }),
    to: isoDate.optional().openapi({ type: 'string', format: 'date-time' }),
    status: z
      .string()
      .regex(/^([1-5]\d\d|[1-5]xx)$/, 'a status (404) or a class (2xx, 4xx, 5xx)')
      .optional()
      .openapi({ example: '5xx' }),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']).optional(),
    path: z.string().min(1).max(200).optional().openapi({ description: 'path contains' }),
    route: z.string().min(1).max(200).optional().openapi({ example: '/api/users/:id' }),
    user_id: z.uuid().optional(),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
    cursor: z.string().max(512).optional(),
  })
  .refine(range, { message: 'from must be before to', path: ['from'] });

export const ErrorsQuerySchema = z
  .strictObject({
    from: isoDate.optional().openapi({ type: 'string', format: 'date-time' }),
    to: isoDate.optional().openapi({ type: 'string', format: 'date-time' }),
    include4xx: z.enum(['true', 'false']).default('false'),
  })
  .refine(range, { message: 'from must be before to', path: ['from'] });

export const StatsQuerySchema = z.strictObject({
  window: z.enum(['1h', '6h', '24h', '7d']).default('24h'),
});

export const RequestLogSchema = z
  .object({
    id: z.number(),
    createdAt: z.string(),
    method: z.string(),
    path: z.string(),
    route: z.string().nullable(),
    status: z.number(),
    durationMs: z.number(),
    userId: z.string().nullable(),
    ip: z.string().nullable(),
    requestId: z.string().nullable(),
    errorCode: z.string().nullable(),
    errorMessage: z.string().nullable(),
  })
  .openapi('RequestLog');

export const RequestLogPageSchema = z
  .object({ items: z.array(RequestLogSchema), nextCursor: z.string().nullable() })
  .openapi('RequestLogPage');

/** Admin views answer plain JSON objects described here loosely; their fields are in the README. */
export const AdminViewSchema = z.record(z.string(), z.unknown()).openapi('AdminView');
