import { z } from '@hono/zod-openapi';

export const BackupIdParamSchema = z.strictObject({
  id: z
    .string()
    .regex(/^\d{8}T\d{6}Z-[0-9a-z]{1,32}$/, 'a backup id such as 20261127T020000Z-1a2b3c')
    .openapi({ param: { name: 'id', in: 'path' }, example: '20261127T020000Z-1a2b3c' }),
});

export const VerifyQuerySchema = z.strictObject({
  drill: z.enum(['true', 'false']).optional().openapi({ description: 'also restore into a scratch database' }),
});

const VerificationSchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  drill: z.boolean(),
  problems: z.array(z.string()),
});

export const BackupViewSchema = z
  .object({
    id: z.string(),
    state: z.enum(['complete', 'incomplete', 'running', 'failed']),
    createdAt: z.string(),
    bytes: z.number(),
    tables: z.number().nullable(),
    rows: z.number().nullable(),
    encrypted: z.boolean().nullable(),
    verification: VerificationSchema.nullable(),
    trigger: z.string().nullable(),
    error: z.string().nullable(),
  })
  .openapi('Backup');

export const BackupListSchema = z.object({ items: z.array(BackupViewSchema) }).openapi('BackupList');

export const BackupStartedSchema = z.object({ id: z.string(), state: z.literal('running') }).openapi('BackupStarted');

export const VerifyResultSchema = VerificationSchema.extend({ id: z.string() }).openapi('BackupVerification');

export const BackupHealthSchema = z
  .object({
    newestCompleteId: z.string().nullable(),
    newestCompleteAt: z.string().nullable(),
    ageSeconds: z.number().nullable(),
    error: z.string().optional(),
  })
  .openapi('BackupHealth');
