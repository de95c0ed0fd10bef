import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

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

/** Where a sync source's next incremental read starts (one row per source). */
export interface SyncCursorsTable {
  source: string;
  cursor: unknown;
  updated_at: Generated<Date>;
}

export interface LeadsTable {
  id: Generated<string>;
  external_id: string;
  name: string | null;
  phone: string | null;
  email: string | null;
  city: string | null;
  source: string | null;
  status: Generated<string>;
  assigned_to: string | null;
  source_assignee: string | null;
  notes: string | null;
  created_at: Date;
  updated_at: Date;
  source_updated_at: Date | null;
  edited_at: Date | null;
  synced_at: Date | null;
}
export type Lead = Selectable<LeadsTable>;

export type PunchDirection = 'in' | 'out';

export interface AttendanceTable {
  id: Generated<number>;
  employee_code: string;
  employee_name: string | null;
  punched_at: Date;
  direction: PunchDirection;
  device_id: Generated<string>;
  external_id: string | null;
  synced_at: Generated<Date>;
}
export type Punch = Selectable<AttendanceTable>;
export interface AlertIncidentsTable {
  id: Generated<number>;
  key: string;
  rule: string;
  summary: string;
  details: ColumnType<Record<string, unknown>, string | undefined, string>;
  opened_at: Generated<Date>;
  resolved_at: Date | null;
  open_notified_at: Date | null;
  resolve_notified_at: Date | null;
  notify_error: string | null;
}
export type AlertIncident = Selectable<AlertIncidentsTable>;
export type BackupStatus = 'running' | 'complete' | 'failed';
export type BackupTrigger = 'job' | 'cli' | 'api';

/** The index of backups this database made (the manifests in object storage are the source of truth). */
export interface BackupsTable {
  id: string;
  status: BackupStatus;
  trigger: BackupTrigger;
  holder: string;
  started_at: Generated<Date>;
  finished_at: Date | null;
  bytes: number | null;
  tables: number | null;
  rows: number | null;
  encrypted: Generated<boolean>;
  error: string | null;
  verified_at: Date | null;
  verify_ok: boolean | null;
  verify_message: string | null;
}
export type BackupRow = Selectable<BackupsTable>;
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
/** request_log_error_hours summed per UTC day (migrations/2026_11_28_0012_request_log_error_days.ts). */
export interface RequestLogErrorDaysTable extends Omit<RequestLogErrorHoursTable, 'hour'> {
  day: Date;
}
// Vending (migrations/2026_11_27_0007_vending.ts)

export interface LocationsTable {
  id: Generated<string>;
  code: string;
  name: string;
  address: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export type Location = Selectable<LocationsTable>;

/** The product catalog. */
export interface NomenclatureTable {
  id: Generated<string>;
  sku: string;
  name: string;
  category: string | null;
  unit: Generated<string>;
  /** numeric(12,2): an exact decimal string. */
  price: string | null;
  is_active: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export type Product = Selectable<NomenclatureTable>;

export type MachineStatus = 'active' | 'maintenance' | 'offline' | 'retired';

export interface MachinesTable {
  id: Generated<string>;
  code: string;
  name: string;
  location_id: string | null;
  status: Generated<MachineStatus>;
  last_serviced_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export type Machine = Selectable<MachinesTable>;

export type TaskType = 'refill' | 'collection' | 'maintenance';
export type TaskStatus = 'pending' | 'assigned' | 'overdue' | 'completed' | 'cancelled';

export interface TasksTable {
  id: Generated<string>;
  number: Generated<number>;
  machine_id: string;
  type: TaskType;
  status: Generated<TaskStatus>;
  assigned_to: string | null;
  due_at: Date;
  completed_at: Date | null;
  completed_by: string | null;
  cancelled_at: Date | null;
  notes: string | null;
  overdue_notified_at: Date | null;
  created_by: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export type Task = Selectable<TasksTable>;

export type ReservationStatus = 'active' | 'released' | 'expired';

export interface InventoryReservationsTable {
  id: Generated<string>;
  task_id: string;
  product_id: string;
  quantity: number;
  status: Generated<ReservationStatus>;
  expires_at: Date;
  released_at: Date | null;
  created_at: Generated<Date>;
}
export type InventoryReservation = Selectable<InventoryReservationsTable>;

export interface OperatorRatingsTable {
  id: Generated<number>;
  operator_id: string;
  /** The day scored, 'YYYY-MM-DD' (UTC). */
  period: string;
  /** numeric(5,2) as an exact decimal string. */
  score: string;
  tasks_done: number;
  tasks_on_time: number;
  tasks_overdue: number;
  tasks_missed: number;
  computed_at: Generated<Date>;
  created_at: Generated<Date>;
}
export type OperatorRating = Selectable<OperatorRatingsTable>;

export interface TelegramLinksTable {
  user_id: string;
  chat_id: number | null;
  username: string | null;
  link_code_hash: string | null;
  link_code_expires_at: Date | null;
  linked_at: Date | null;
  created_at: Generated<Date>;
}

export interface UploadsTable {
  id: Generated<string>;
  task_id: string;
  object_key: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  original_name: string | null;
  uploaded_by: string | null;
  created_at: Generated<Date>;
}
export type Upload = Selectable<UploadsTable>;

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
  sync_cursors: SyncCursorsTable;
  leads: LeadsTable;
  attendance: AttendanceTable;
  alert_incidents: AlertIncidentsTable;
  backups: BackupsTable;
  request_log_minute_totals: RequestLogMinuteTotalsTable;
  request_log_error_hours: RequestLogErrorHoursTable;
  request_log_error_days: RequestLogErrorDaysTable;
  locations: LocationsTable;
  nomenclature: NomenclatureTable;
  machines: MachinesTable;
  tasks: TasksTable;
  inventory_reservations: InventoryReservationsTable;
  operator_ratings: OperatorRatingsTable;
  telegram_links: TelegramLinksTable;
  uploads: UploadsTable;
}
