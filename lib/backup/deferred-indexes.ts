import { sql } from 'kysely';
import type { Session } from './session.ts';

/** An index or constraint dropped before a load, with what makes it again. */
export type DeferredIndex = {
  kind: 'foreign key' | 'constraint' | 'index';
  table: string;
  name: string;
  definition: string;
};

/**
 * Drops the indexes, primary keys, unique and exclusion constraints of `tables` (plain tables of
 * the current schema only, not partitioned ones), and the foreign keys that touch them, inside the
 * restore's transaction: building an index once over loaded rows is quicker than keeping it up to
 * date row by row, which is how pg_dump's script does it too. One that cannot be dropped (another
 * object depends on it) is kept, in a savepoint. Returns what rebuildIndexes makes again.
 */
export async function dropIndexesForLoad(session: Session, tables: string[]): Promise<DeferredIndex[]> {
  if (tables.length === 0) return [];
  const loaded = sql`(select c.oid from pg_class c where c.relnamespace = current_schema()::regnamespace
    and c.relkind = 'r' and not c.relispartition and c.relname = any(${tables}::text[]))`;
  const foreignKeys = await session.query<DeferredIndex>(sql`
    select 'foreign key' as kind, r.relname as table, k.conname as name, pg_get_constraintdef(k.oid) as definition
    from pg_constraint k join pg_class r on r.oid = k.conrelid
    where k.contype = 'f' and k.conparentid = 0 and r.relkind = 'r' and not r.relispartition
      and (k.conrelid in ${loaded} or k.confrelid in ${loaded})
    order by r.relname, k.conname`);
  const constraints = await session.query<DeferredIndex>(sql`
    select 'constraint' as kind, r.relname as table, k.conname as name, pg_get_constraintdef(k.oid) as definition
    from pg_constraint k join pg_class r on r.oid = k.conrelid
    where k.contype in ('p', 'u', 'x') and k.conrelid in ${loaded}
    order by r.relname, k.conname`);
  const indexes = await session.query<DeferredIndex>(sql`
    select 'index' as kind, r.relname as table, x.relname as name, pg_get_indexdef(i.indexrelid) as definition
    from pg_index i join pg_class x on x.oid = i.indexrelid join pg_class r on r.oid = i.indrelid
    where i.indrelid in ${loaded} and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
    order by r.relname, x.relname`);
  const dropped: DeferredIndex[] = [];
  for (const item of [...foreignKeys, ...constraints, ...indexes]) {
    const drop =
      item.kind === 'index'
        ? sql`drop index ${sql.id(item.name)}`
        : sql`alter table ${sql.id(item.table)} drop constraint ${sql.id(item.name)}`;
    await session.query(sql`savepoint opsbase_deferred_index`);
    try {
      await session.query(drop);
      dropped.push(item);
    } catch {
      await session.query(sql`rollback to savepoint opsbase_deferred_index`);
    }
    await session.query(sql`release savepoint opsbase_deferred_index`);
  }
  return dropped;
}

/** Makes again what dropIndexesForLoad dropped: indexes and keys first, then the foreign keys. */
export async function rebuildIndexes(session: Session, dropped: DeferredIndex[]): Promise<void> {
  const order: DeferredIndex['kind'][] = ['constraint', 'index', 'foreign key'];
  for (const kind of order) {
    for (const item of dropped.filter((d) => d.kind === kind)) {
      // The definitions come from this database's own catalog (pg_get_*def), not from the backup.
      await session.query(
        item.kind === 'index'
          ? sql.raw(item.definition)
          : sql`alter table ${sql.id(item.table)} add constraint ${sql.id(item.name)} ${sql.raw(item.definition)}`,
      );
    }
  }
}
