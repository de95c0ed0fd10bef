import { z } from '@hono/zod-openapi';
import { MAX_PAGE_SIZE } from '../../lib/pagination.ts';

export const JobNameParamSchema = z.strictObject({
  job: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'a job name: lower-case letters, digits, _ and -')
    .openapi({ param: { name: 'job', in: 'path' }, example: 'log_cleanup' }),
});

export const JobRunSchema = z
  .object({
    id: z.number().nullable(),
    jobName: z.string(),
    status: z.enum(['running', 'success', 'error', 'skipped']),
    trigger: z.enum(['schedule', 'http', 'manual']),
    scheduledFor: z.string().nullable(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().nullable(),
    recordsProcessed: z.number().nullable(),
    message: z.string().nullable(),
    error: z.string().nullable(),
    runtime: z.string(),
  })
  .openapi('JobRun');

export const JobRunPageSchema = z
  .object({ items: z.array(JobRunSchema), nextCursor: z.string().nullable() })
  .openapi('JobRunPage');

export const JobStatusSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    schedule: z.string(),
    timeoutMs: z.number(),
    aliases: z.array(z.string()),
    lastRun: JobRunSchema.nullable(),
    lastSuccessAt: z.string().nullable(),
    nextRunAt: z.string().nullable(),
    periodMs: z.number(),
    late: z.boolean(),
  })
  .openapi('JobStatus');

const isoDate = z.iso.datetime({ offset: true }).transform((v) => new Date(v));

export const CronLogQuerySchema = z
  .strictObject({
    job: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,63}$/)
      .optional(),
    status: z.enum(['running', 'success', 'error', 'skipped']).optional(),
    from: isoDate.optional().openapi({ type: 'string', format: 'date-time' }),
    to: isoDate.optional().openapi({ type: 'string', format: 'date-time' }),
    limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
    cursor: z.string().max(512).optional(),
  })
  .refine((q) => !q.from || !q.to || q.from < q.to, { message: 'from must be before to', path: ['from'] });
