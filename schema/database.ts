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

/** Every table Opsbase owns, as Kysely sees it. */
export interface Database {
  app_settings: AppSettingsTable;
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  login_throttles: LoginThrottlesTable;
  rate_limit_counters: RateLimitCountersTable;
}
