import { z } from '@hono/zod-openapi';
import { MAX_PAGE_SIZE } from '../../lib/pagination.ts';
import { UuidSchema } from './common.ts';

// Payloads of the vending API: machines, locations, products (nomenclature), tasks,
// reservations, ratings, uploads and the Telegram link code. Bodies are strict objects.

const isoDateTime = z.iso
  .datetime({ offset: true })
  .transform((v) => new Date(v))
  .openapi({ type: 'string', format: 'date-time' });
const nullableDateTime = z.iso
  .datetime({ offset: true })
  .transform((v) => new Date(v))
  .nullable()
  .openapi({ type: ['string', 'null'], format: 'date-time' });
const code = (example: string) =>
  z
    .string()
    .trim()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-"')
    .openapi({ example });
const title = (example: string) => z.string().trim().min(1).max(200).openapi({ example });
const note = z.string().trim().max(2000);
const limit = z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50).openapi({ example: 50 });
const cursor = z.string().max(512).optional().openapi({ description: 'nextCursor from the previous page' });
const page = <T extends z.ZodType>(item: T, name: string) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() }).openapi(name);
const idParam = z.strictObject({ id: UuidSchema.openapi({ param: { name: 'id', in: 'path' } }) });

export const IdParamSchema = idParam;

export const MachineStatusSchema = z.enum(['active', 'maintenance', 'offline', 'retired']).openapi('MachineStatus');
export const TaskTypeSchema = z.enum(['refill', 'collection', 'maintenance']).openapi('TaskType');
export const TaskStatusSchema = z
  .enum(['pending', 'assigned', 'overdue', 'completed', 'cancelled'])
  .openapi('TaskStatus');

// ---- Locations and products ----

export const LocationSchema = z
  .object({
    id: z.string(),
    code: z.string(),
    name: z.string(),
    address: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Location');
export const LocationPageSchema = page(LocationSchema, 'LocationPage');
export const CreateLocationSchema = z
  .strictObject({
    code: code('LOC-001'),
    name: title('Central station, hall B'),
    address: z.string().trim().max(500).nullable().optional(),
  })
  .openapi('CreateLocation');

export const ProductSchema = z
  .object({
    id: z.string(),
    sku: z.string(),
    name: z.string(),
    category: z.string().nullable(),
    unit: z.string(),
    price: z.string().nullable().openapi({ description: 'exact decimal, e.g. "1.50"' }),
    isActive: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Product');
export const ProductPageSchema = page(ProductSchema, 'ProductPage');
export const CreateProductSchema = z
  .strictObject({
    sku: code('SKU-COLA-05'),
    name: title('Cola 0.5 l'),
    category: z.string().trim().min(1).max(100).nullable().optional(),
    unit: z.string().trim().min(1).max(20).optional().openapi({ example: 'pcs' }),
    price: z
      .string()
      .regex(/^\d{1,10}(\.\d{1,2})?$/, 'a decimal such as 1.50 (at most 2 decimals)')
      .nullable()
      .optional()
      .openapi({ example: '1.50' }),
    isActive: z.boolean().optional(),
  })
  .openapi('CreateProduct');
export const ProductQuerySchema = z.strictObject({
  category: z.string().trim().min(1).max(100).optional(),
  limit,
  cursor,
});

// ---- Machines ----

export const MachineSchema = z
  .object({
    id: z.string(),
    code: z.string(),
    name: z.string(),
    status: MachineStatusSchema,
    locationId: z.string().nullable(),
    location: z.object({ id: z.string(), code: z.string(), name: z.string() }).nullable(),
    lastServicedAt: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Machine');
export const MachinePageSchema = page(MachineSchema, 'MachinePage');
export const MachineQuerySchema = z.strictObject({
  status: MachineStatusSchema.optional(),
  locationId: UuidSchema.optional(),
  q: z.string().trim().min(1).max(100).optional().openapi({ description: 'part of the code or name' }),
  limit,
  cursor,
});
export const CreateMachineSchema = z
  .strictObject({
    code: code('M-001'),
    name: title('Snack machine, lobby'),
    locationId: UuidSchema.nullable().optional(),
    status: MachineStatusSchema.optional(),
    lastServicedAt: nullableDateTime.optional(),
  })
  .openapi('CreateMachine');
export const UpdateMachineSchema = z
  .strictObject({
    name: title('Snack machine, lobby').optional(),
    locationId: UuidSchema.nullable().optional(),
    status: MachineStatusSchema.optional(),
    lastServicedAt: nullableDateTime.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'set at least one of name, locationId, status, lastServicedAt')
  .openapi('UpdateMachine');

// ---- Tasks and reservations ----

export const ReservationSchema = z
  .object({
    id: z.string(),
    taskId: z.string(),
    productId: z.string(),
    quantity: z.number().int(),
    status: z.enum(['active', 'released', 'expired']),
    expiresAt: z.string(),
    releasedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Reservation');

export const UploadSchema = z
  .object({
    id: z.string(),
    taskId: z.string(),
    contentType: z.string(),
    sizeBytes: z.number().int(),
    sha256: z.string(),
    originalName: z.string().nullable(),
    uploadedBy: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Upload');

export const TaskSchema = z
  .object({
    id: z.string(),
    number: z.number().int().openapi({ description: 'short number for people (Telegram: /done 42)' }),
    machineId: z.string(),
    machine: z.object({ code: z.string(), name: z.string() }),
    type: TaskTypeSchema,
    status: TaskStatusSchema,
    assignedTo: z.string().nullable(),
    dueAt: z.string(),
    completedAt: z.string().nullable(),
    completedBy: z.string().nullable(),
    cancelledAt: z.string().nullable(),
    notes: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Task');
export const TaskDetailSchema = TaskSchema.extend({
  reservations: z.array(ReservationSchema),
  uploads: z.array(UploadSchema),
}).openapi('TaskDetail');
export const TaskPageSchema = page(TaskSchema, 'TaskPage');
export const TaskTransitionSchema = z
  .object({ task: TaskSchema, releasedReservations: z.number().int() })
  .openapi('TaskTransition');
export const TaskQuerySchema = z.strictObject({
  status: z
    .enum(['pending', 'assigned', 'overdue', 'completed', 'cancelled', 'open'])
    .optional()
    .openapi({ description: 'a status, or open (pending, assigned and overdue)' }),
  type: TaskTypeSchema.optional(),
  machineId: UuidSchema.optional(),
  assignedTo: UuidSchema.optional(),
  dueBefore: isoDateTime.optional(),
  limit,
  cursor,
});
export const CreateTaskSchema = z
  .strictObject({
    machineId: UuidSchema,
    type: TaskTypeSchema,
    dueAt: isoDateTime,
    assignedTo: UuidSchema.nullable().optional().openapi({ description: 'an active operator' }),
    notes: note.nullable().optional(),
  })
  .openapi('CreateTask');
export const AssignTaskSchema = z.strictObject({ operatorId: UuidSchema }).openapi('AssignTask');
export const CreateReservationSchema = z
  .strictObject({
    productId: UuidSchema,
    quantity: z.number().int().min(1).max(1_000_000).openapi({ example: 12 }),
    expiresAt: isoDateTime.optional().openapi({ description: 'default: now + RESERVATION_TTL (24h)' }),
  })
  .openapi('CreateReservation');

// ---- Ratings ----

export const RatingSchema = z
  .object({
    operatorId: z.string(),
    operatorName: z.string(),
    period: z.string().openapi({ example: '2026-11-26' }),
    score: z.string().openapi({ example: '87.50', description: '0-100, see the README for the formula' }),
    tasksDone: z.number().int(),
    tasksOnTime: z.number().int(),
    tasksOverdue: z.number().int(),
    tasksMissed: z.number().int(),
    computedAt: z.string(),
  })
  .openapi('Rating');
export const RatingPageSchema = page(RatingSchema, 'RatingPage');
export const RatingQuerySchema = z.strictObject({
  period: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD')
    .refine(
      (v) => !Number.isNaN(Date.parse(`${v}T00:00:00Z`)) && new Date(`${v}T00:00:00Z`).toISOString().startsWith(v),
      'not a calendar day',
    )
    .optional()
    .openapi({ description: 'the day scored (UTC); default yesterday', example: '2026-11-26' }),
  limit,
  cursor,
});

// ---- Uploads and Telegram ----

export const UploadFormSchema = z
  .object({
    taskId: UuidSchema,
    file: z
      .instanceof(File)
      .refine((f) => f.size > 0, 'the file is empty')
      .openapi({ type: 'string', format: 'binary', description: 'PNG, JPEG, GIF, WebP or PDF (judged by content)' }),
  })
  .openapi('UploadForm');

export const LinkCodeSchema = z
  .object({
    code: z.string().openapi({ example: 'K7QX2M9PLA' }),
    command: z.string().openapi({ example: '/start K7QX2M9PLA' }),
    expiresAt: z.string(),
  })
  .openapi('TelegramLinkCode');

export const WebhookAnswerSchema = z.object({ ok: z.boolean() }).openapi('TelegramWebhookAnswer');
