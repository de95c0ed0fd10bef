import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

/** Instance-wide key/value settings (e.g. when the local stack first seeded its admin). */
export interface AppSettingsTable {
  key: string;
  value: unknown;
  updated_at: Generated<Date>;
}
export type AppSetting = Selectable<AppSettingsTable>;
export type NewAppSetting = Insertable<AppSettingsTable>;
export type AppSettingUpdate = Updateable<AppSettingsTable>;

export type Role = 'md' | 'admin' | 'manager' | 'agent' | 'operator';

export interface UsersTable {
  id: Generated<string>;
  email: string;
  name: string;
  role: Role;
  password_hash: string;
  is_active: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  last_login_at: Date | null;
  password_changed_at: Generated<Date>;
}
export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;

export interface RefreshTokensTable {
  id: Generated<string>;
  user_id: string;
  family_id: string;
  token_hash: string;
  created_at: Generated<Date>;
  expires_at: Date;
  revoked_at: Date | null;
  replaced_by: string | null;
}
export type RefreshToken = Selectable<RefreshTokensTable>;

export interface LoginThrottlesTable {
  key: string;
  failures: number;
  window_started_at: Date;
}

export interface RateLimitCountersTable {
  key: string;
  window_start: Date;
  count: number;
}

export type JobStatus = 'running' | 'success' | 'error' | 'skipped';
export type JobTrigger = 'schedule' | 'http' | 'manual';

export interface CronJobLogsTable {
  id: Generated<number>;
  job_name: string;
  status: JobStatus;
  trigger: JobTrigger;
  scheduled_for: Date | null;
  started_at: Generated<Date>;
  finished_at: Date | null;
  duration_ms: number | null;
  records_processed: number | null;
  message: string | null;
  error: string | null;
  runtime: string;
  holder: string;
}
export type CronJobLog = Selectable<CronJobLogsTable>;

export interface JobLocksTable {
  job_name: string;
  holder: string;
  locked_until: Date;
  acquired_at: Generated<Date>;
}

export interface RequestLogsTable {
  id: Generated<number>;
  created_at: Generated<Date>;
  method: string;
  path: string;
  route: string | null;
  status: number;
  duration_ms: number;
  user_id: string | null;
  ip: string | null;
  request_id: string | null;
  error_code: string | null;
  error_message: string | null;
}
export type RequestLog = Selectable<RequestLogsTable>;

export interface RequestLogMinutesTable {
  minute: Date;
  method: string;
  route: string;
  requests: number;
  errors: number;
  duration_sum_ms: number;
  duration_max_ms: number;
  buckets: number[];
}

/** request_log_minutes summed over routes: what the charts read. */
export interface RequestLogMinuteTotalsTable {
  minute: Date;
  requests: number;
  errors: number;
  duration_sum_ms: number;
  duration_max_ms: number;
  buckets: number[];
}

/** 4xx/5xx per hour, route ('(unmatched)' when none matched), method and status. */
export interface RequestLogErrorHoursTable {
  hour: Date;
  method: string;
  route: string;
  status: number;
  count: number;
  first_seen: Date;
  last_seen: Date;
  samples: string[];
}

/** Every table Opsbase owns, as Kysely sees it. */
export interface Database {
  app_settings: AppSettingsTable;
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  login_throttles: LoginThrottlesTable;
  rate_limit_counters: RateLimitCountersTable;
  cron_job_logs: CronJobLogsTable;
  job_locks: JobLocksTable;
  request_logs: RequestLogsTable;
  request_log_minutes: RequestLogMinutesTable;
  request_log_minute_totals: RequestLogMinuteTotalsTable;
  request_log_error_hours: RequestLogErrorHoursTable;
}
