import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { Permission } from '../lib/auth/permissions.ts';
import { ErrorEnvelopeSchema } from './errors.ts';
import { requireAuth } from './middleware/auth.ts';
import { requireCronSecret } from './middleware/cron-secret.ts';
import { requireTelegramSecret } from './middleware/telegram-secret.ts';

/**
 * Who may call a route: anyone, any signed-in user, holders of a permission, system cron
 * (CRON_SECRET), or Telegram delivering updates (TELEGRAM_WEBHOOK_SECRET in its header).
 */
export type Access = 'public' | 'authenticated' | 'cron' | 'telegram' | Permission;

const SECURITY_SCHEMES: Partial<Record<Access, string>> = { cron: 'cronSecret', telegram: 'telegramSecret' };

export const ACCESS_EXTENSION = 'x-opsbase-access';

/**
 * createRoute plus its access rule, in one place: the rule becomes the route's middleware, its
 * OpenAPI security, and an `x-opsbase-access` extension the authorization matrix test reads.
 */
export function route<const R extends Omit<RouteConfig, 'middleware' | 'security'>>(access: Access, config: R) {
  const isPublic = access === 'public';
  const middleware =
    access === 'public'
      ? []
      : access === 'cron'
        ? [requireCronSecret()]
        : access === 'telegram'
          ? [requireTelegramSecret()]
          : [requireAuth(access === 'authenticated' ? undefined : access)];
  return createRoute({
    ...config,
    ...(isPublic ? {} : { security: [{ [SECURITY_SCHEMES[access] ?? 'bearerAuth']: [] }] }),
    middleware,
    [ACCESS_EXTENSION]: access,
  } as R & { middleware: ReturnType<typeof requireAuth>[] });
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input (code VALIDATION_FAILED or BAD_REQUEST; zod issues in details)',
  401: 'Missing, invalid or expired credentials',
  403: 'The role lacks the permission',
  404: 'Not found',
  409: 'Conflicts with existing data',
  413: 'Body over BODY_LIMIT',
  415: 'Content of a type the route does not accept',
  429: 'Rate limited; see Retry-After',
  503: 'A dependency is unavailable',
};

/** The envelope responses a route can answer, for its OpenAPI declaration. */
export function errorResponses(...statuses: (keyof typeof ERROR_DESCRIPTIONS)[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: ERROR_DESCRIPTIONS[status] ?? 'Error',
        content: { 'application/json': { schema: ErrorEnvelopeSchema } },
      },
    ]),
  );
}

export function jsonBody<T>(schema: T) {
  return { body: { required: true, content: { 'application/json': { schema } } } } as const;
}

export function json<T>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}
