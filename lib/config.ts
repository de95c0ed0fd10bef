import { z } from 'zod';
import { DEFAULT_LOGIN_THROTTLE } from './auth/login-throttle.ts';
import { DEFAULT_PBKDF2_ITERATIONS } from './auth/password.ts';
import type { AuthPolicy } from './auth/service.ts';
import { isSourceTable, type LeadColumns, parseLeadColumns } from './crm/leads-mapping.ts';
import { isTimeZone } from './crm/time-zone.ts';
import { type AddressRange, parseRange } from './net.ts';

/** Environment variables arrive as strings (process.env, Workers vars, .env files). */
type RawEnv = Record<string, unknown>;

const emptyToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const optionalString = z.preprocess(emptyToUndefined, z.string().trim().optional());

const booleanFlag = (fallback: boolean) =>
  z.preprocess(
    emptyToUndefined,
    z
      .union([z.boolean(), z.string().trim().toLowerCase()])
      .optional()
      .transform((value, ctx) => {
        if (value === undefined) return fallback;
        if (typeof value === 'boolean') return value;
        if (['true', '1', 'yes', 'on'].includes(value)) return true;
        if (['false', '0', 'no', 'off'].includes(value)) return false;
        ctx.addIssue({ code: 'custom', message: `expected true or false, got "${value}"` });
        return z.NEVER;
      }),
  );

const port = (fallback: number) =>
  z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ error: 'expected a port number' })
      .int('expected a whole port number')
      .min(0, 'expected a port between 0 and 65535')
      .max(65535, 'expected a port between 0 and 65535')
      .default(fallback),
  );

const positiveInt = (fallback: number) =>
  z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'expected a number' }).int('expected a whole number').positive().default(fallback),
  );

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, k: 1024, mb: 1024 ** 2, m: 1024 ** 2, gb: 1024 ** 3 };

/** "10mb", "512kb", "1048576" -> bytes. */
const byteSize = (fallback: number) =>
  z.preprocess(
    emptyToUndefined,
    z
      .union([z.number(), z.string()])
      .optional()
      .transform((value, ctx) => {
        if (value === undefined) return fallback;
        if (typeof value === 'number') return value;
        const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
        const unit = SIZE_UNITS[(match?.[2] || 'b').toLowerCase()];
        if (!match || unit === undefined) {
          ctx.addIssue({ code: 'custom', message: `expected a size such as 10mb or 1048576, got "${value}"` });
          return z.NEVER;
        }
        return Math.floor(Number(match[1]) * unit);
      }),
  );

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "15m", "7d", "3600" (seconds) -> seconds. */
const duration = (fallback: number) =>
  z.preprocess(
    emptyToUndefined,
    z
      .union([z.number(), z.string()])
      .optional()
      .transform((value, ctx) => {
        if (value === undefined) return fallback;
        const match = /^(\d+)\s*([smhd]?)$/i.exec(String(value).trim());
        if (!match || Number(match[1]) <= 0) {
          ctx.addIssue({
            code: 'custom',
            message: `expected a duration such as 15m, 7d or 3600 (seconds), got "${value}"`,
          });
          return z.NEVER;
        }
        return Number(match[1]) * (DURATION_UNITS[(match[2] || 's').toLowerCase()] ?? 1);
      }),
  );

const url = (protocols: string[]) =>
  z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .refine(
        (value) => {
          try {
            return protocols.includes(new URL(value).protocol);
          } catch {
            return false;
          }
        },
        `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
      )
      .optional(),
  );

const timeZone = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .trim()
    .default('UTC')
    .refine(isTimeZone, 'expected an IANA time zone such as UTC, Asia/Kolkata or America/New_York'),
);

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

const envSchema = z.object({
  NODE_ENV: z.preprocess(emptyToUndefined, z.enum(['development', 'production', 'test']).default('development')),
  HOST: z.preprocess(emptyToUndefined, z.string().trim().default('0.0.0.0')),
  PORT: port(3000),
  LOG_LEVEL: z.preprocess(
    (v) => (typeof v === 'string' ? v.trim().toLowerCase() || undefined : v),
    z.enum(LOG_LEVELS).default('info'),
  ),
  BODY_LIMIT: byteSize(10 * 1024 * 1024),

  DATABASE_URL: url(['postgres:', 'postgresql:']),
  DATABASE_HOST: optionalString,
  DATABASE_PORT: port(5432),
  DATABASE_USERNAME: optionalString,
  DATABASE_PASSWORD: optionalString,
  DATABASE_NAME: optionalString,
  DATABASE_SSL: booleanFlag(false),
  DATABASE_POOL_MAX: positiveInt(10),
  MIGRATE_ON_START: z.preprocess(emptyToUndefined, z.string().optional()),

  DATA_DIR: z.preprocess(emptyToUndefined, z.string().trim().default('./.data')),
  LOCAL_PG_PORT: port(5433),
  LOCAL_S3_PORT: port(4568),

  S3_ENDPOINT: url(['http:', 'https:']),
  S3_BUCKET: z.preprocess(emptyToUndefined, z.string().trim().min(3).default('opsbase')),
  S3_REGION: z.preprocess(emptyToUndefined, z.string().trim().default('us-east-1')),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_FORCE_PATH_STYLE: booleanFlag(true),
  S3_PUBLIC_URL: url(['http:', 'https:']),

  HEALTH_TIMEOUT_MS: positiveInt(2500),

  CRON_SECRET: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((v) => v.length >= 16, 'must be at least 16 characters (openssl rand -base64 32)')
      .optional(),
  ),
  ENABLE_SCHEDULED_TASKS: z.preprocess(emptyToUndefined, z.string().optional()),
  CRON_LOG_RETENTION_DAYS: positiveInt(30),
  JOB_LEASE_SECONDS: z.preprocess(
    emptyToUndefined,
    z.coerce
      .number({ error: 'expected a number' })
      .int('expected a whole number')
      .min(3, 'must be at least 3 seconds')
      .default(120),
  ),
  REQUEST_LOG_RETENTION_DAYS: positiveInt(7),
  REQUEST_LOG_EXCLUDE: z.preprocess(
    (v) => (v === undefined ? '/api/health' : v),
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((p) => p.trim())
          .filter(Boolean),
      )
      .refine(
        (paths) => paths.every((p) => p.startsWith('/')),
        'expected path prefixes starting with /, comma separated',
      ),
  ),

  JWT_SECRET: z.preprocess(
    emptyToUndefined,
    z
      .string({ error: 'required: a random secret of at least 32 bytes (openssl rand -base64 32)' })
      .refine((v) => new TextEncoder().encode(v).length >= 32, 'must be at least 32 bytes (openssl rand -base64 32)'),
  ),
  JWT_EXPIRATION: duration(15 * 60),
  REFRESH_TOKEN_EXPIRATION: duration(7 * 86400),
  JWT_ISSUER: z.preprocess(emptyToUndefined, z.string().trim().default('opsbase')),
  JWT_AUDIENCE: z.preprocess(emptyToUndefined, z.string().trim().default('opsbase-api')),
  PASSWORD_ITERATIONS: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'expected a number' }).int().min(1000).max(10_000_000).default(DEFAULT_PBKDF2_ITERATIONS),
  ),
  AUTH_CACHE_TTL: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'expected seconds (0 reads the user on every request)' }).min(0).max(60).default(2),
  ),
  LOGIN_MAX_FAILURES: positiveInt(DEFAULT_LOGIN_THROTTLE.maxFailuresPerAccount),
  LOGIN_MAX_FAILURES_PER_IP: positiveInt(DEFAULT_LOGIN_THROTTLE.maxFailuresPerIp),
  LOGIN_WINDOW: duration(DEFAULT_LOGIN_THROTTLE.windowSeconds),
  THROTTLE_TTL: duration(60),
  THROTTLE_LIMIT: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'expected a number (0 turns the limit off)' }).int().min(0).default(100),
  ),
  TRUSTED_PROXIES: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('127.0.0.1,::1')
      .transform((value, ctx) => {
        const ranges: AddressRange[] = [];
        for (const item of value
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean)) {
          const range = parseRange(item);
          if (!range) {
            ctx.addIssue({ code: 'custom', message: `"${item}" is not an IP address or CIDR range` });
            return z.NEVER;
          }
          ranges.push(range);
        }
        return ranges;
      }),
  ),
  CORS_ORIGIN: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('')
      .transform((value, ctx) => {
        const origins = value
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean);
        for (const origin of origins) {
          if (origin === '*') {
            ctx.addIssue({ code: 'custom', message: 'a wildcard cannot be used: list the allowed origins' });
            return z.NEVER;
          }
          try {
            if (new URL(origin).origin !== origin) throw new Error();
          } catch {
            ctx.addIssue({ code: 'custom', message: `"${origin}" is not an origin like https://app.example.com` });
            return z.NEVER;
          }
        }
        return origins;
      }),
  ),
  DEPLOY_COMMIT: optionalString,
  DEPLOY_TIME: optionalString,

  LEADS_MYSQL_URL: url(['mysql:', 'mariadb:']),
  LEADS_MYSQL_TABLE: z.preprocess(
    emptyToUndefined,
    z.string().trim().default('leads').refine(isSourceTable, 'expected a table name, or database.table'),
  ),
  LEADS_MYSQL_COLUMNS: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .default('')
      .transform((value, ctx) => {
        try {
          return parseLeadColumns(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: `${(error as Error).message} (e.g. external_id=lead_id,city=)` });
          return z.NEVER;
        }
      }),
  ),
  LEADS_MYSQL_TIMEZONE: timeZone,
  LEADS_SYNC_BATCH_SIZE: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'expected a number' }).int().min(1).max(50_000).default(5000),
  ),
  LEADS_SYNC_SETTLE_SECONDS: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'expected seconds' }).int().min(0).max(3600).default(60),
  ),
  ATTENDANCE_API_URL: url(['http:', 'https:']),
  ATTENDANCE_API_KEY: optionalString,
  ATTENDANCE_TIMEZONE: timeZone,
  ATTENDANCE_PAGE_SIZE: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'expected a number' }).int().min(1).max(5000).default(500),
  ),
  SYNC_TIMEOUT_MS: positiveInt(15_000),
  SYNC_MAX_ATTEMPTS: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'expected a number' }).int().min(1).max(10).default(4),
  ),
  REQUEST_LOG_FLUSH_INTERVAL_MS: positiveInt(500),
  WEB_CONCURRENCY: z.preprocess(
    emptyToUndefined,
    z
      .union([
        z.literal('max'),
        z.coerce.number({ error: 'expected a number of workers or "max"' }).int().min(1).max(256),
      ])
      .default(1),
  ),
  METRICS_TOKEN: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((v) => v.length >= 16, 'must be at least 16 characters (openssl rand -base64 32)')
      .optional(),
  ),
  TELEGRAM_BOT_TOKEN: optionalString,
  TELEGRAM_API_BASE: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .refine((v) => /^https?:\/\/[^/]+/.test(v), 'expected a URL such as https://api.telegram.org')
      .transform((v) => v.replace(/\/+$/, ''))
      .default('https://api.telegram.org'),
  ),
  ALERT_WEBHOOK_URL: url(['http:', 'https:']),
  ALERT_TELEGRAM_CHAT_ID: optionalString,
  ALERT_AFTER_FAILURES: positiveInt(3),
  ALERT_CHECK_INTERVAL: duration(60),
  ALERT_BACKUP_MAX_AGE: duration(26 * 3600),

  BACKUP_PREFIX: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'expected a key prefix such as backups or opsbase/backups')
      .default('backups'),
  ),
  BACKUP_ENCRYPTION_KEY: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .trim()
      .transform((value, ctx) => {
        const key = decodeBase64Key(value);
        if (!key) {
          ctx.addIssue({ code: 'custom', message: 'must be 32 bytes, base64 encoded (openssl rand -base64 32)' });
          return z.NEVER;
        }
        return key;
      })
      .optional(),
  ),
  BACKUP_KEEP_DAYS: positiveInt(7),
  BACKUP_KEEP_COUNT: positiveInt(3),
  BACKUP_EXCLUDE_TABLES: z.preprocess(
    (v) => (v === undefined ? 'request_logs' : v),
    z
      .string()
      .transform((v) =>
        v
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean),
      )
      .refine((tables) => tables.every((t) => /^[a-z_][a-z0-9_]*$/.test(t)), 'expected table names, comma separated'),
  ),
  BACKUP_GZIP_LEVEL: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'expected a gzip level 1-9' }).int().min(1).max(9).default(1),
  ),
  BACKUP_PART_SIZE: byteSize(8 * 1024 * 1024).refine(
    (n) => n >= 5 * 1024 * 1024,
    'must be at least 5mb (the S3 minimum part size)',
  ),
  BACKUP_DRILL_DATABASE_URL: url(['postgres:', 'postgresql:']),
  TELEGRAM_WEBHOOK_URL: url(['https:', 'http:']),
  TELEGRAM_WEBHOOK_SECRET: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{16,256}$/, '16-256 characters of A-Z, a-z, 0-9, _ and - (openssl rand -hex 32)')
      .optional(),
  ),
  RESERVATION_TTL: duration(24 * 3600),
  UPLOAD_URL_TTL: duration(300),
  DATABASE_CONNECT_TIMEOUT_MS: positiveInt(3000),
  DATABASE_QUERY_TIMEOUT_MS: z.preprocess(
    emptyToUndefined,
    z.coerce.number({ error: 'expected milliseconds (0 turns the limit off)' }).int().min(0).default(15_000),
  ),
  REQUEST_LOG_BUFFER_MAX: positiveInt(10_000),
  SCHEDULER_CLOCK: optionalString,
});

/** 32 bytes from standard or url-safe base64, or undefined. */
function decodeBase64Key(value: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return undefined;
  const binary = atob(value.replaceAll('-', '+').replaceAll('_', '/'));
  if (binary.length !== 32) return undefined;
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** Every variable the schema reads, for checks that .env.example documents them all. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];

export type Config = {
  nodeEnv: 'development' | 'production' | 'test';
  host: string;
  port: number;
  logLevel: (typeof LOG_LEVELS)[number];
  bodyLimit: number;
  /** undefined means "use the embedded PGlite in dataDir" (Node only). */
  databaseUrl: string | undefined;
  databaseSsl: boolean;
  databasePoolMax: number;
  migrateOnStart: boolean;
  dataDir: string;
  localPgPort: number;
  localS3Port: number;
  /** undefined means no object storage is configured. */
  s3:
    | {
        endpoint: string | undefined;
        bucket: string;
        region: string;
        accessKeyId: string | undefined;
        secretAccessKey: string | undefined;
        forcePathStyle: boolean;
        publicUrl: string | undefined;
      }
    | undefined;
  healthTimeoutMs: number;
  deployCommit: string | undefined;
  deployTime: string | undefined;
  auth: AuthPolicy;
  jobs: {
    /** Bearer secret of POST /api/cron/:job; undefined disables HTTP triggers (503). */
    cronSecret: string | undefined;
    /** Run the in-process scheduler (Node). */
    scheduler: boolean;
    cronLogRetentionDays: number;
    /** A running job's lease, renewed by its holder's heartbeat; a dead holder's lapses after this. */
    leaseMs: number;
  };
  requestLogs: {
    /** Path prefixes not logged (REQUEST_LOG_EXCLUDE; default /api/health; empty logs everything). */
    exclude: string[];
    retentionDays: number;
    /** How often a Node process writes its buffered request logs. */
    flushIntervalMs: number;
  };
  /** Seconds a user's role/active state is remembered per process (AUTH_CACHE_TTL). */
  authCacheTtlSeconds: number;
  /** THROTTLE_LIMIT requests per THROTTLE_TTL seconds; limit 0 turns it off. */
  rateLimit: { limit: number; windowSeconds: number };
  trustedProxies: AddressRange[];
  corsOrigins: string[];
  /** The CRM's two sync sources (leads from MySQL/MariaDB, attendance from the device API). */
  crm: CrmConfig;
  /** Node HTTP worker processes (node:cluster); 'max' means one per CPU core. 1 = no cluster. */
  webConcurrency: number | 'max';
  /** Bearer token of GET /metrics; undefined answers 503 there. */
  metricsToken: string | undefined;
  telegram: {
    /** undefined: the bot sends nothing (alerts, vending replies and notifications are skipped, and say so). */
    botToken: string | undefined;
    /** The Bot API's base URL (https://api.telegram.org; a local fake in tests). */
    apiBase: string;
    /** Public URL of POST /api/telegram/webhook, for `opsbase telegram set-webhook`. */
    webhookUrl: string | undefined;
    /** undefined: POST /api/telegram/webhook answers 503 rather than taking unauthenticated updates. */
    webhookSecret: string | undefined;
  };
  alerts: {
    webhookUrl: string | undefined;
    telegramChatId: string | undefined;
    /** A job alerts when its last this-many finished runs all failed. */
    afterFailures: number;
    checkIntervalMs: number;
    /** The newest complete backup may be this old before it alerts (with object storage set). */
    backupMaxAgeMs: number;
  };
  backup: BackupSettings;
  vending: {
    /** How long a reservation holds stock when the request names no expiry. */
    reservationTtlSeconds: number;
    /** Lifetime of the signed URL GET /api/uploads/:id redirects to. */
    uploadUrlTtlSeconds: number;
  };
  /** How long the Node pool waits for a database connection before the request fails with 503. */
  databaseConnectTimeoutMs: number;
  /** Client-side limit on one query of the Node server's pool (0: none); past it, 503 and a new connection. */
  databaseQueryTimeoutMs: number;
  /** Request-log rows kept in memory while the database cannot take them; older ones are dropped and counted. */
  requestLogBufferMax: number;
  /** Tests only (SCHEDULER_CLOCK, refused in production): the in-process scheduler's accelerated clock. */
  schedulerClock: { simulatedAt: Date; realAt: Date; speed: number } | undefined;
};

export type BackupSettings = {
  /** Key prefix in S3_BUCKET under which every backup lives (BACKUP_PREFIX). */
  prefix: string;
  /** AES-256-GCM key (BACKUP_ENCRYPTION_KEY, 32 bytes); undefined = backups are not encrypted. */
  encryptionKey: Uint8Array | undefined;
  keepDays: number;
  keepCount: number;
  excludeTables: string[];
  gzipLevel: number;
  /** Multipart part size in bytes (memory per upload is about two parts). */
  partSize: number;
  /** Where `verify --drill` restores to; undefined = a scratch database it creates and drops. */
  drillDatabaseUrl: string | undefined;
};

export type CrmConfig = {
  leads: {
    /** undefined: the leads sync is not configured. */
    mysqlUrl: string | undefined;
    table: string;
    columns: LeadColumns;
    /** Zone of the source's DATETIME values (TIMESTAMP columns arrive in UTC). */
    timeZone: string;
    batchSize: number;
    /** Rows changed less than this long ago (by the source's clock) wait for the next run. */
    settleSeconds: number;
  };
  attendance: {
    /** undefined: the attendance sync is not configured. */
    apiUrl: string | undefined;
    apiKey: string | undefined;
    /** Zone of the device's wall-clock punch times. */
    timeZone: string;
    pageSize: number;
  };
  /** Each source request's budget, and how many tries a transient failure gets. */
  sync: { timeoutMs: number; maxAttempts: number };
};

const SECRET_NAME = /SECRET|PASSWORD|TOKEN|KEY|DATABASE_URL|MYSQL_URL/;

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: { variable: string; message: string }[];
  constructor(problems: { variable: string; message: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
    this.problems = problems;
  }
}

/** Parses the environment once, at an entry point. Unknown variables are ignored. */
export function parseConfig(env: RawEnv): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? '(environment)');
        // Never repeat what a secret was set to, not even in an error.
        const shown = SECRET_NAME.test(variable) ? undefined : env[variable];
        return { variable, message: describeIssue(issue, shown) };
      }),
    );
  }
  const e = parsed.data;
  const problems: { variable: string; message: string }[] = [];

  const databaseUrl = e.DATABASE_URL ?? databaseUrlFromParts(e, problems);
  const migrateOnStart = booleanFlag(e.NODE_ENV !== 'production').safeParse(e.MIGRATE_ON_START);
  if (!migrateOnStart.success) problems.push({ variable: 'MIGRATE_ON_START', message: 'expected true or false' });
  // The in-process scheduler: on for `npm run dev`, off elsewhere unless asked (system cron or
  // Workers cron triggers call the jobs instead).
  const scheduler = booleanFlag(e.NODE_ENV === 'development').safeParse(e.ENABLE_SCHEDULED_TASKS);
  if (!scheduler.success) problems.push({ variable: 'ENABLE_SCHEDULED_TASKS', message: 'expected true or false' });
  if (Boolean(e.S3_ACCESS_KEY_ID) !== Boolean(e.S3_SECRET_ACCESS_KEY)) {
    problems.push({
      variable: e.S3_ACCESS_KEY_ID ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID',
      message: 'S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together',
    });
  }
  if (e.ALERT_TELEGRAM_CHAT_ID && !e.TELEGRAM_BOT_TOKEN) {
    problems.push({ variable: 'TELEGRAM_BOT_TOKEN', message: 'required when ALERT_TELEGRAM_CHAT_ID is set' });
  }
  const schedulerClock = parseSchedulerClock(e.SCHEDULER_CLOCK, e.NODE_ENV, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    nodeEnv: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    bodyLimit: e.BODY_LIMIT,
    databaseUrl,
    databaseSsl: e.DATABASE_SSL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    migrateOnStart: migrateOnStart.data ?? false,
    dataDir: e.DATA_DIR,
    localPgPort: e.LOCAL_PG_PORT,
    localS3Port: e.LOCAL_S3_PORT,
    s3: e.S3_ENDPOINT
      ? {
          endpoint: e.S3_ENDPOINT,
          bucket: e.S3_BUCKET,
          region: e.S3_REGION,
          accessKeyId: e.S3_ACCESS_KEY_ID,
          secretAccessKey: e.S3_SECRET_ACCESS_KEY,
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
          publicUrl: e.S3_PUBLIC_URL,
        }
      : undefined,
    healthTimeoutMs: e.HEALTH_TIMEOUT_MS,
    deployCommit: e.DEPLOY_COMMIT,
    deployTime: e.DEPLOY_TIME,
    auth: {
      tokens: {
        secret: new TextEncoder().encode(e.JWT_SECRET),
        issuer: e.JWT_ISSUER,
        audience: e.JWT_AUDIENCE,
        accessTtlSeconds: e.JWT_EXPIRATION,
        clockToleranceSeconds: 5,
      },
      refreshTtlSeconds: e.REFRESH_TOKEN_EXPIRATION,
      password: { iterations: e.PASSWORD_ITERATIONS },
      throttle: {
        maxFailuresPerAccount: e.LOGIN_MAX_FAILURES,
        maxFailuresPerIp: e.LOGIN_MAX_FAILURES_PER_IP,
        windowSeconds: e.LOGIN_WINDOW,
      },
    },
    jobs: {
      cronSecret: e.CRON_SECRET,
      scheduler: scheduler.data ?? false,
      cronLogRetentionDays: e.CRON_LOG_RETENTION_DAYS,
      leaseMs: e.JOB_LEASE_SECONDS * 1000,
    },
    requestLogs: {
      exclude: e.REQUEST_LOG_EXCLUDE,
      retentionDays: e.REQUEST_LOG_RETENTION_DAYS,
      flushIntervalMs: e.REQUEST_LOG_FLUSH_INTERVAL_MS,
    },
    authCacheTtlSeconds: e.AUTH_CACHE_TTL,
    rateLimit: { limit: e.THROTTLE_LIMIT, windowSeconds: e.THROTTLE_TTL },
    trustedProxies: e.TRUSTED_PROXIES,
    corsOrigins: e.CORS_ORIGIN,
    crm: {
      leads: {
        mysqlUrl: e.LEADS_MYSQL_URL,
        table: e.LEADS_MYSQL_TABLE,
        columns: e.LEADS_MYSQL_COLUMNS,
        timeZone: e.LEADS_MYSQL_TIMEZONE,
        batchSize: e.LEADS_SYNC_BATCH_SIZE,
        settleSeconds: e.LEADS_SYNC_SETTLE_SECONDS,
      },
      attendance: {
        apiUrl: e.ATTENDANCE_API_URL,
        apiKey: e.ATTENDANCE_API_KEY,
        timeZone: e.ATTENDANCE_TIMEZONE,
        pageSize: e.ATTENDANCE_PAGE_SIZE,
      },
      sync: { timeoutMs: e.SYNC_TIMEOUT_MS, maxAttempts: e.SYNC_MAX_ATTEMPTS },
    },
    webConcurrency: e.WEB_CONCURRENCY,
    metricsToken: e.METRICS_TOKEN,
    telegram: {
      botToken: e.TELEGRAM_BOT_TOKEN,
      apiBase: e.TELEGRAM_API_BASE,
      webhookUrl: e.TELEGRAM_WEBHOOK_URL,
      webhookSecret: e.TELEGRAM_WEBHOOK_SECRET,
    },
    alerts: {
      webhookUrl: e.ALERT_WEBHOOK_URL,
      telegramChatId: e.ALERT_TELEGRAM_CHAT_ID,
      afterFailures: e.ALERT_AFTER_FAILURES,
      checkIntervalMs: e.ALERT_CHECK_INTERVAL * 1000,
      backupMaxAgeMs: e.ALERT_BACKUP_MAX_AGE * 1000,
    },
    backup: {
      prefix: e.BACKUP_PREFIX,
      encryptionKey: e.BACKUP_ENCRYPTION_KEY,
      keepDays: e.BACKUP_KEEP_DAYS,
      keepCount: e.BACKUP_KEEP_COUNT,
      excludeTables: e.BACKUP_EXCLUDE_TABLES,
      gzipLevel: e.BACKUP_GZIP_LEVEL,
      partSize: e.BACKUP_PART_SIZE,
      drillDatabaseUrl: e.BACKUP_DRILL_DATABASE_URL,
    },
    vending: { reservationTtlSeconds: e.RESERVATION_TTL, uploadUrlTtlSeconds: e.UPLOAD_URL_TTL },
    databaseConnectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
    databaseQueryTimeoutMs: e.DATABASE_QUERY_TIMEOUT_MS,
    requestLogBufferMax: e.REQUEST_LOG_BUFFER_MAX,
    schedulerClock,
  };
}

/**
 * SCHEDULER_CLOCK="<simulated ISO time>@<real ISO time>*<speed>": the scheduler's clock read the
 * simulated time at that real instant and runs `speed` times faster. For tests (a simulated hour
 * of schedules in seconds); refused in production.
 */
function parseSchedulerClock(
  value: string | undefined,
  nodeEnv: string,
  problems: { variable: string; message: string }[],
): Config['schedulerClock'] {
  if (value === undefined) return undefined;
  if (nodeEnv === 'production') {
    problems.push({ variable: 'SCHEDULER_CLOCK', message: 'is for tests only and cannot be set in production' });
    return undefined;
  }
  const match = /^([^@]+)@([^*]+)\*(\d+(?:\.\d+)?)$/.exec(value);
  const simulatedAt = new Date(match?.[1] ?? '');
  const realAt = new Date(match?.[2] ?? '');
  const speed = Number(match?.[3]);
  if (!match || Number.isNaN(simulatedAt.getTime()) || Number.isNaN(realAt.getTime()) || !(speed > 0)) {
    problems.push({
      variable: 'SCHEDULER_CLOCK',
      message: `expected <simulated ISO time>@<real ISO time>*<speed>, e.g. 2026-01-01T02:30:00Z@2026-01-01T12:00:00Z*120 (got "${value}")`,
    });
    return undefined;
  }
  return { simulatedAt, realAt, speed };
}

/** The deployment guide's DATABASE_HOST/PORT/USERNAME/PASSWORD/NAME form, as a URL. */
function databaseUrlFromParts(
  e: z.infer<typeof envSchema>,
  problems: { variable: string; message: string }[],
): string | undefined {
  if (!e.DATABASE_HOST) return undefined;
  if (!e.DATABASE_NAME) {
    problems.push({ variable: 'DATABASE_NAME', message: 'required when DATABASE_HOST is set' });
    return undefined;
  }
  // The hostname setter ignores a value it cannot use and cuts one at a '/', so check it took
  // (IPv6 addresses come back normalized).
  const u = new URL('postgresql://');
  const host = urlHost(e.DATABASE_HOST);
  u.hostname = host;
  if (!u.hostname || (u.hostname !== host && !host.startsWith('['))) {
    problems.push({ variable: 'DATABASE_HOST', message: 'expected a host name, an IP address or a socket directory' });
    return undefined;
  }
  u.port = String(e.DATABASE_PORT);
  u.username = encodeURIComponent(e.DATABASE_USERNAME ?? 'postgres');
  if (e.DATABASE_PASSWORD) u.password = encodeURIComponent(e.DATABASE_PASSWORD);
  u.pathname = `/${encodeURIComponent(e.DATABASE_NAME)}`;
  return u.toString();
}

/** A bare IPv6 address needs brackets; a socket directory goes percent-encoded, as pg reads it. */
function urlHost(host: string): string {
  if (host.startsWith('/')) return encodeURIComponent(host);
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]`;
  return host;
}

function describeIssue(issue: z.core.$ZodIssue, received: unknown): string {
  const shown =
    typeof received === 'string' ? ` (got "${received.length > 60 ? `${received.slice(0, 60)}…` : received}")` : '';
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.join(', ')}${shown}`;
  if (issue.code === 'custom') return issue.message;
  return `${issue.message}${shown}`;
}

/** For entry points: parse or print every problem and exit 1. */
export function parseConfigOrExit(env: RawEnv, write: (line: string) => void = console.error): Config {
  try {
    return parseConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      write(error.message);
      write('See .env.example for every variable and its default.');
      process.exit(1);
    }
    throw error;
  }
}
