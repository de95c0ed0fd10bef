import { sql } from 'kysely';
import type { Session } from './session.ts';

/** An index or constraint dropped before a load. Its definition stays in the database. */
export type DeferredIndex = {
  kind: 'foreign key' | 'constraint' | 'index';
  table: string;
  name: string;
};

/**
 * Drops the indexes, primary keys, unique and exclusion constraints of `tables` (plain tables of
 * the current schema only, not partitioned ones), and the foreign keys that touch them, inside the
 * restore's transaction: building an index once over loaded rows is quicker than keeping it up to
 * date row by row, which is how pg_dump's script does it too. One that cannot be dropped (another
 * object depends on it) is kept, in a savepoint. What was dropped, with its definition as the
 * catalog gives it (pg_get_*def), is kept in a temporary table of the transaction, so
 * rebuildIndexes makes it again without the definitions ever passing through the application.
 */
export async function dropIndexesForLoad(session: Session, tables: string[]): Promise<DeferredIndex[]> {
  if (tables.length === 0) return [];
  await session.query(sql`create temp table opsbase_deferred_indexes (
    ord serial, kind text not null, tbl text not null, name text not null, definition text not null
  ) on commit drop`);
  const loaded = sql`(select c.oid from pg_class c where c.relnamespace = current_schema()::regnamespace
    and c.relkind = 'r' and not c.relispartition and c.relname = any(${tables}::text[]))`;
  await session.query(sql`
    insert into pg_temp.opsbase_deferred_indexes (kind, tbl, name, definition)
    select 'foreign key', r.relname, k.conname, pg_get_constraintdef(k.oid)
    from pg_constraint k join pg_class r on r.oid = k.conrelid
    where k.contype = 'f' and k.conparentid = 0 and r.relkind = 'r' and not r.relispartition
      and (k.conrelid in ${loaded} or k.confrelid in ${loaded})
    order by r.relname, k.conname`);
  await session.query(sql`
    insert into pg_temp.opsbase_deferred_indexes (kind, tbl, name, definition)
    select 'constraint', r.relname, k.conname, pg_get_constraintdef(k.oid)
    from pg_constraint k join pg_class r on r.oid = k.conrelid
    where k.contype in ('p', 'u', 'x') and k.conrelid in ${loaded}
    order by r.relname, k.conname`);
  await session.query(sql`
    insert into pg_temp.opsbase_deferred_indexes (kind, tbl, name, definition)
    select 'index', r.relname, x.relname, pg_get_indexdef(i.indexrelid)
    from pg_index i join pg_class x on x.oid = i.indexrelid join pg_class r on r.oid = i.indrelid
    where i.indrelid in ${loaded} and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
    order by r.relname, x.relname`);
  const candidates = await session.query<DeferredIndex & { ord: number }>(
    sql`select ord, kind, tbl as "table", name from pg_temp.opsbase_deferred_indexes order by ord`,
  );
  const dropped: DeferredIndex[] = [];
  for (const { ord, ...item } of candidates) {
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
      await session.query(sql`delete from pg_temp.opsbase_deferred_indexes where ord = ${ord}`);
    }
    await session.query(sql`release savepoint opsbase_deferred_index`);
  }
  return dropped;
}

/**
 * Makes again what dropIndexesForLoad dropped, from the definitions it kept: indexes and keys
 * first, then the foreign keys.
 */
export async function rebuildIndexes(session: Session): Promise<void> {
  await session.query(sql`do $rebuild$
    declare d record;
    begin
      for d in select * from pg_temp.opsbase_deferred_indexes
        order by case kind when 'constraint' then 0 when 'index' then 1 else 2 end, ord
      loop
        if d.kind = 'index' then
          execute d.definition;
        else
          execute format('alter table %I add constraint %I %s', d.tbl, d.name, d.definition);
        end if;
      end loop;
    end
  $rebuild$`);
}
