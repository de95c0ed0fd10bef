import type { Migration } from 'kysely/migration';
import * as appSettings from './2026_11_23_0001_app_settings.ts';
import * as auth from './2026_11_23_0002_auth.ts';
import * as jobs from './2026_11_23_0003_jobs.ts';
import * as requestLogs from './2026_11_23_0004_request_logs.ts';
import * as backups from './2026_11_27_0005_backups.ts';
import * as crm from './2026_11_27_0006_crm.ts';
import * as vending from './2026_11_27_0007_vending.ts';
import * as observabilityIndexes from './2026_11_27_0009_observability_indexes.ts';
import * as alerts from './2026_11_27_0010_alerts.ts';
import * as requestLogMethods from './2026_11_27_0010_request_log_methods.ts';
import * as requestLogPathSearch from './2026_11_28_0011_request_log_path_search.ts';
import * as requestLogErrorDays from './2026_11_28_0012_request_log_error_days.ts';
import * as requestLogErrorRows from './2026_11_28_0013_request_log_error_rows.ts';

/**
 * Every migration, by name, in order. A static map rather than a folder scan so the
 * migrations bundle for Workers too. Add new ones at the end with a timestamp name.
 */
export const migrations: Record<string, Migration> = {
  '2026_11_23_0001_app_settings': appSettings,
  '2026_11_23_0002_auth': auth,
  '2026_11_23_0003_jobs': jobs,
  '2026_11_23_0004_request_logs': requestLogs,
  '2026_11_27_0005_backups': backups,
  '2026_11_27_0006_crm': crm,
  '2026_11_27_0007_vending': vending,
  '2026_11_27_0009_observability_indexes': observabilityIndexes,
  '2026_11_27_0010_alerts': alerts,
  '2026_11_27_0010_request_log_methods': requestLogMethods,
  '2026_11_28_0011_request_log_path_search': requestLogPathSearch,
  '2026_11_28_0012_request_log_error_days': requestLogErrorDays,
  '2026_11_28_0013_request_log_error_rows': requestLogErrorRows,
};
