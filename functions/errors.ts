import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { RefreshTokenError } from '../lib/auth/refresh-tokens.ts';
import { LoginError } from '../lib/auth/service.ts';
import { BackupRefusedError } from '../lib/backup/read.ts';
import { BackupObjectError } from '../lib/backup/store.ts';
import { ConfigError } from '../lib/config.ts';
import {
  ConflictError,
  DependencyUnavailableError,
  isDatabaseUnavailable,
  NotFoundError,
  StorageUnavailableError,
  UnsupportedMediaTypeError,
} from '../lib/errors.ts';
import { InvalidCursorError } from '../lib/pagination.ts';
import { TimeoutError } from '../lib/runtime.ts';
import type { AppEnv } from './context.ts';

/** The closed set of error codes a client can branch on. */
export const ERROR_CODES = [
  'BAD_REQUEST',
  'VALIDATION_FAILED',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'RATE_LIMITED',
  'INTERNAL',
  'SERVICE_UNAVAILABLE',
  'STORAGE_UNAVAILABLE',
  'CONFIG_INVALID',
  'JOB_FAILED',
  'HEADERS_TOO_LARGE',
  'REQUEST_TIMEOUT',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const ErrorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      requestId: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

/** The one exception type of the HTTP boundary. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: ContentfulStatusCode;
  readonly code: ErrorCode;
  readonly details: unknown;
  readonly headers: Record<string, string> | undefined;
  constructor(
    status: ContentfulStatusCode,
    code: ErrorCode,
    message: string,
    details?: unknown,
    headers?: Record<string, string>,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
  503: 'SERVICE_UNAVAILABLE',
};

export function errorResponse(c: Context<AppEnv>, error: ApiError): Response {
  // The request log records what the client was told (onError may have set a fuller 5xx message).
  if (!c.get('loggedError')) c.set('loggedError', { code: error.code, message: error.message });
  const body: ErrorEnvelope = {
    error: {
      code: error.code,
      message: error.message,
      requestId: c.get('requestId') ?? '',
      ...(error.details === undefined ? {} : { details: error.details }),
    },
  };
  return c.json(body, error.status, error.headers);
}

/** Maps anything thrown into the envelope. Unknown errors are logged with their stack and answered 500 without one. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof HTTPException) {
    const code = CODE_BY_STATUS[error.status] ?? (error.status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
    return new ApiError(error.status as ContentfulStatusCode, code, error.message || defaultMessage(code));
  }
  if (error instanceof ConfigError) {
    // Only Workers get here (Node refuses to start). Anyone may be asking: name what to fix, not
    // what it holds (ConfigError's own message quotes the values of variables that are not secret).
    const variables = [...new Set(error.problems.map((p) => p.variable))];
    return new ApiError(503, 'CONFIG_INVALID', `Invalid configuration: ${variables.join(', ')} (see .env.example)`, {
      variables,
    });
  }
  if (error instanceof LoginError) {
    return error.reason === 'throttled'
      ? new ApiError(429, 'RATE_LIMITED', error.message, undefined, {
          'Retry-After': String(error.retryAfterSeconds ?? 60),
        })
      : new ApiError(401, 'UNAUTHORIZED', error.message);
  }
  if (error instanceof RefreshTokenError) {
    return new ApiError(
      401,
      'UNAUTHORIZED',
      `refresh token is ${error.reason === 'reused' ? 'no longer valid; log in again' : error.reason}`,
    );
  }
  if (error instanceof InvalidCursorError) return new ApiError(400, 'BAD_REQUEST', error.message);
  if (error instanceof NotFoundError) return new ApiError(404, 'NOT_FOUND', error.message);
  if (error instanceof BackupObjectError) return new ApiError(404, 'NOT_FOUND', error.message);
  if (error instanceof BackupRefusedError) return new ApiError(409, 'CONFLICT', error.message);
  if (error instanceof ConflictError) return new ApiError(409, 'CONFLICT', error.message);
  if (error instanceof UnsupportedMediaTypeError) return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', error.message);
  if (error instanceof StorageUnavailableError) {
    return new ApiError(503, 'STORAGE_UNAVAILABLE', 'object storage is unavailable');
  }
  if (error instanceof DependencyUnavailableError) {
    return new ApiError(503, 'SERVICE_UNAVAILABLE', `${error.dependency} is unavailable`);
  }
  if (isDatabaseUnavailable(error) || error instanceof TimeoutError) {
    return new ApiError(503, 'SERVICE_UNAVAILABLE', 'database is unavailable');
  }
  return new ApiError(500, 'INTERNAL', 'Internal server error');
}

function defaultMessage(code: ErrorCode): string {
  return code.toLowerCase().replaceAll('_', ' ');
}
