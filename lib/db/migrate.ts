import type { Kysely } from 'kysely';
import { type MigrationResult, Migrator } from 'kysely/migration';
import { migrations } from '../../migrations/index.ts';

export type MigrationRunResult = { error: unknown; results: MigrationResult[]; failedMigration: string | undefined };
export type MigrationStatusRow = { name: string; executedAt: Date | undefined };

// biome-ignore lint/suspicious/noExplicitAny: migrations run on any database schema
type AnyDb = Kysely<any>;

/**
 * `schema`: keep the bookkeeping tables in that schema (a restore drill's scratch schema) rather
 * than wherever Kysely finds a table of that name first.
 */
function migratorFor(db: AnyDb, schema?: string): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'opsbase_migrations',
    migrationLockTableName: 'opsbase_migrations_lock',
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}

function summarize(resultSet: { error?: unknown; results?: MigrationResult[] }): MigrationRunResult {
  const results = resultSet.results ?? [];
  return {
    error: resultSet.error,
    results,
    failedMigration: results.find((r) => r.status === 'Error')?.migrationName,
  };
}

export async function migrateToLatest(db: AnyDb): Promise<MigrationRunResult> {
  return summarize(await migratorFor(db).migrateToLatest());
}

export async function migrateDown(db: AnyDb): Promise<MigrationRunResult> {
  return summarize(await migratorFor(db).migrateDown());
}

export async function migrateTo(db: AnyDb, name: string, schema?: string): Promise<MigrationRunResult> {
  return summarize(await migratorFor(db, schema).migrateTo(name));
}

/** Every known migration in order, with when it ran (undefined = pending). */
export async function migrationStatus(db: AnyDb, schema?: string): Promise<MigrationStatusRow[]> {
  const infos = await migratorFor(db, schema).getMigrations();
  return infos.map((m) => ({ name: m.name, executedAt: m.executedAt }));
}

/** Thrown by callers that need a clean migration run; names the failing migration. */
export class MigrationError extends Error {
  override name = 'MigrationError';
  readonly migrationName: string | undefined;
  constructor(migrationName: string | undefined, cause: unknown) {
    super(`migration ${migrationName ?? '(setup)'} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.migrationName = migrationName;
  }
}

/** migrateToLatest, throwing a MigrationError on failure. */
export async function migrateOrThrow(db: AnyDb): Promise<MigrationResult[]> {
  const run = await migrateToLatest(db);
  if (run.error) throw new MigrationError(run.failedMigration, run.error);
  return run.results;
}
