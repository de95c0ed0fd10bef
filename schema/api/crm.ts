import { z } from '@hono/zod-openapi';
import { MAX_PAGE_SIZE } from '../../lib/pagination.ts';
import { UuidSchema } from './common.ts';

const limit = z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50).openapi({ example: 50 });
const cursor = z.string().max(512).optional().openapi({ description: 'nextCursor from the previous page' });

/** A calendar day, checked to exist (2026-02-30 is refused). */
const localDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
  .refine((v) => {
    const at = new Date(`${v}T00:00:00Z`);
    return !Number.isNaN(at.getTime()) && at.toISOString().startsWith(v);
  }, 'not a calendar date')
  .openapi({ example: '2026-11-20' });

const LeadStatusSchema = z.string().trim().min(1).max(50).openapi({ example: 'contacted' });

export const LeadSchema = z
  .object({
    id: UuidSchema,
    externalId: z.string(),
    name: z.string().nullable(),
    phone: z.string().nullable(),
    email: z.string().nullable(),
    city: z.string().nullable(),
    source: z.string().nullable(),
    status: z.string(),
    assignedTo: z.string().nullable().openapi({ description: 'user id of the agent' }),
    sourceAssignee: z.string().nullable().openapi({ description: "the source's assignee (an email), as synced" }),
    notes: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    syncedAt: z.string().nullable(),
  })
  .openapi('Lead');

export const LeadPageSchema = z
  .object({ items: z.array(LeadSchema), nextCursor: z.string().nullable() })
  .openapi('LeadPage');

export const LeadQuerySchema = z.strictObject({
  status: LeadStatusSchema.optional(),
  assigned_to: UuidSchema.optional().openapi({ description: 'user id' }),
  q: z.string().trim().min(1).max(100).optional().openapi({ description: 'part of the name, phone or email' }),
  updated_since: z.iso
    .datetime({ offset: true })
    .transform((v) => new Date(v))
    .optional()
    .openapi({ type: 'string', format: 'date-time' }),
  limit,
  cursor,
});

export const UpdateLeadSchema = z
  .strictObject({
    status: LeadStatusSchema.optional(),
    assignedTo: UuidSchema.nullable()
      .optional()
      .openapi({ description: 'a user id, or null to unassign (not agents)' }),
    notes: z.string().max(10_000).nullable().optional().openapi({ example: 'Called back, wants a quote' }),
  })
  .refine((v) => Object.keys(v).length > 0, 'set at least one of status, assignedTo, notes')
  .openapi('UpdateLead');

export const LeadIdParamSchema = z.strictObject({ id: UuidSchema.openapi({ param: { name: 'id', in: 'path' } }) });

export const PunchSchema = z
  .object({
    id: z.number(),
    employeeCode: z.string(),
    employeeName: z.string().nullable(),
    punchedAt: z.string().openapi({ description: 'UTC' }),
    direction: z.enum(['in', 'out']),
    deviceId: z.string(),
    externalId: z.string().nullable(),
  })
  .openapi('Punch');

export const PunchPageSchema = z
  .object({ items: z.array(PunchSchema), nextCursor: z.string().nullable() })
  .openapi('PunchPage');

export const AttendanceQuerySchema = z
  .strictObject({
    employee: z.string().trim().min(1).max(64).optional().openapi({ example: 'E042' }),
    from: localDate.optional().openapi({ description: 'first day (ATTENDANCE_TIMEZONE), included' }),
    to: localDate.optional().openapi({ description: 'last day (ATTENDANCE_TIMEZONE), included' }),
    limit,
    cursor,
  })
  .refine((q) => !q.from || !q.to || q.from <= q.to, { message: 'from must not be after to', path: ['from'] });

export const DailyQuerySchema = z.strictObject({
  date: localDate.optional().openapi({ description: 'a day in ATTENDANCE_TIMEZONE; default today' }),
});

export const DailyAttendanceSchema = z
  .object({
    date: z.string(),
    timeZone: z.string(),
    employees: z.array(
      z.object({
        employeeCode: z.string(),
        employeeName: z.string().nullable(),
        firstIn: z.string().nullable(),
        lastOut: z.string().nullable(),
        hours: z.number().openapi({ description: 'between paired in and out punches' }),
        punches: z.number(),
        missingPunches: z.number().openapi({ description: 'ins without an out after them, outs without an in before' }),
      }),
    ),
  })
  .openapi('DailyAttendance');
