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

/** Every table Opsbase owns, as Kysely sees it. */
export interface Database {
  app_settings: AppSettingsTable;
}
