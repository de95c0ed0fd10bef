import { z } from 'zod';
import { MAX_PAGE_SIZE } from '../lib/pagination.ts';

// Query parameters of the dashboard's pages. A GET form sends empty fields as "", which mean
// "no filter"; anything else that does not parse is a 400 page naming the parameter.

const HOUR = 3_600_000;

/** Time ranges the pages offer, in milliseconds back from now. */
export const TIME_RANGES = {
  '15m': 15 * 60_000,
  '1h': HOUR,
  '6h': 6 * HOUR,
  '24h': 24 * HOUR,
  '7d': 7 * 24 * HOUR,
  '30d': 30 * 24 * HOUR,
} as const;
export type TimeRange = keyof typeof TIME_RANGES;

const range = (fallback: TimeRange) =>
  z.enum(Object.keys(TIME_RANGES) as [TimeRange, ...TimeRange[]]).default(fallback);
const cursor = z.string().max(512).optional();
const jobName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, 'a job name: lower-case letters, digits, _ and -')
  .optional();

export const LOG_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export const PAGE_SIZES = [25, 50, 100] as const;

export const LogsPageQuery = z.strictObject({
  range: range('24h'),
  status: z
    .string()
    .regex(/^([1-5]\d\d|[1-5]xx)$/i, 'a status such as 404 or a class such as 5xx')
    .transform((v) => v.toLowerCase())
    .optional(),
  method: z.enum(LOG_METHODS).optional(),
  path: z.string().max(200).optional(),
  route: z.string().max(200).optional(),
  limit: z.coerce
    .number()
    .int()
    .refine((n) => (PAGE_SIZES as readonly number[]).includes(n), `one of ${PAGE_SIZES.join(', ')}`)
    .default(50),
  cursor,
});

export const JobsPageQuery = z.strictObject({
  job: jobName,
  status: z.enum(['running', 'success', 'error', 'skipped']).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(25),
  cursor,
  /** The run a "Run now" just recorded, to highlight it. */
  ran: z.coerce.number().int().positive().optional(),
});

export const ErrorsPageQuery = z.strictObject({
  range: range('24h'),
  include4xx: z.enum(['on', 'true', 'false']).optional(),
});

export const NoQuery = z.strictObject({});

export const LoginPageQuery = z.strictObject({
  next: z.string().max(2000).optional(),
  reason: z.enum(['expired', 'logged-out']).optional(),
});

export const LoginForm = z.strictObject({
  email: z.string().trim().min(1, 'enter your email').max(254),
  password: z.string().min(1, 'enter your password').max(256),
  next: z.string().max(2000).optional(),
});

export const JobParam = z.strictObject({ job: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'a job name') });

/** "404" -> exact, "5xx" -> class 5: the request-log filter's form of a status. */
export function statusFilter(status: string | undefined): { exact: number } | { class: number } | undefined {
  if (!status) return undefined;
  return status.endsWith('xx') ? { class: Number(status[0]) } : { exact: Number(status) };
}
