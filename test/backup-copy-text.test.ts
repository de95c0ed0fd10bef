import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportQuery } from '../lib/backup/catalog.ts';
import { type CopyColumn, jsonLineConverter, jsonLinesToCopy, jsonStringToCopy } from '../lib/backup/copy-text.ts';
import { createBackup } from '../lib/backup/create.ts';
import { restoreBackup } from '../lib/backup/restore.ts';
import { openSession } from '../lib/backup/session.ts';
import type { Db } from '../lib/db/connection.ts';
import type { Storage } from '../lib/storage.ts';
import { createAwkwardTables, fillAwkwardTables } from './support/awkward-tables.ts';
import { backupDeps, storageFor, tableFingerprints } from './support/backup.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';

const scalar = (name: string): CopyColumn => ({ name, kind: 'scalar' });
const array = (name: string): CopyColumn => ({ name, kind: 'array' });

describe('JSON lines to COPY text', () => {
  it("keeps a number's own text, so numeric precision and scale survive", () => {
    const convert = jsonLineConverter([scalar('a'), scalar('b'), scalar('c')]);
    expect(convert('{"a":123456789012345678901234567890.123456789,"b":1.50,"c":-1e-24}')).toBe(
      '123456789012345678901234567890.123456789\t1.50\t-1e-24',
    );
  });

  it('writes JSON null as \\N and true/false as their text', () => {
    const convert = jsonLineConverter([scalar('a'), scalar('b'), array('c')]);
    expect(convert('{"a":null,"b":true,"c":null}')).toBe('\\N\ttrue\t\\N');
  });

  it('escapes what COPY text needs: backslashes, tabs, newlines, carriage returns', () => {
    expect(jsonStringToCopy('tab\\there \\\\ \\"q\\" \\r\\n \\/ \\b\\f')).toBe('tab\\there \\\\ "q" \\r\\n / \\b\\f');
    expect(jsonStringToCopy('\\u0001\\u005c\\u000a\\u00e9\\ud83d\\ude00')).toBe('\u0001\\\\\\né😀');
    expect(jsonStringToCopy('plain ЁЖ 😀')).toBe('plain ЁЖ 😀');
  });

  it('turns JSON arrays into array literals, quoting every string and nesting dimensions', () => {
    const convert = jsonLineConverter([array('a'), array('b'), array('c')]);
    expect(convert('{"a":["a,b","c\\"d",null,"NULL","","x\\\\y","t\\tn\\n"],"b":[[1,2],[3,null]],"c":[]}')).toBe(
      '{"a,b","c\\\\"d",NULL,"NULL","","x\\\\\\\\y","t\\tn\\n"}\t{{1,2},{3,NULL}}\t{}',
    );
  });

  it('gives json values as their text, a non-string one as its JSON', () => {
    const convert = jsonLineConverter([scalar('doc'), scalar('other')]);
    expect(convert('{"doc":"{\\"a\\": \\"x\\\\\\\\y\\"}","other":{"k":[1,"\\\\"]}}')).toBe(
      '{"a": "x\\\\\\\\y"}\t{"k":[1,"\\\\\\\\"]}',
    );
  });

  it('refuses a line whose keys or column count differ from the manifest', () => {
    expect(() => jsonLineConverter([scalar('a'), scalar('b')])('{"a":1,"c":2}')).toThrow(/expected column b/);
    expect(() => jsonLineConverter([scalar('a'), scalar('b')])('{"a":1}')).toThrow(/2 columns/);
    expect(() => jsonLineConverter([scalar('a')])('{"a":1,"b":2}')).toThrow(/1 columns/);
    expect(() => jsonLineConverter([scalar('a')])('{"a":"unterminated}')).toThrow(/not a backup row/);
    expect(() => jsonLineConverter([scalar('a')])('{"a":1} ')).toThrow(/not a backup row/);
  });

  it('converts a stream of lines over bytes as it converts each line, whatever the chunk boundaries', async () => {
    const columns = [scalar('id'), scalar('s'), array('a'), scalar('doc'), scalar('n')];
    const lines = [
      '{"id":1,"s":"plain ЁЖ 😀","a":["x","y z",null],"doc":"{\\"k\\": 1}","n":null}',
      '{"id":2,"s":"tab\\t \\\\ \\"q\\" \\u0001","a":[["a\\\\b"],["c\\"d"]],"doc":null,"n":1.50}',
      '{"id":3,"s":"","a":[],"doc":"\\\\N","n":true}',
      '{"id":4,"s":null,"a":null,"doc":{"raw":[1,"é"]},"n":-0}',
      '{"id":5,"s":"nul","a":[[1,null],[null,2]],"doc":"\\u00e9","n":"NaN"}',
    ];
    const one = jsonLineConverter(columns);
    const expected = lines.map((l) => `${one(l)}\n`).join('');
    const bytes = new TextEncoder().encode(`${lines.join('\n')}\n`);
    for (const size of [1, 3, 7, 64, bytes.length]) {
      const converted = jsonLinesToCopy(
        columns,
        (async function* () {
          for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
        })(),
      );
      const parts: Uint8Array[] = [];
      for await (const chunk of converted.bytes) parts.push(chunk.slice());
      expect(Buffer.concat(parts).toString('utf8')).toBe(expected);
      expect(converted.rows()).toBe(lines.length);
    }
    // The last line may come without its newline.
    const unterminated = jsonLinesToCopy(
      columns,
      (async function* () {
        yield bytes.subarray(0, bytes.length - 1);
      })(),
    );
    const parts: Uint8Array[] = [];
    for await (const chunk of unterminated.bytes) parts.push(chunk.slice());
    expect(Buffer.concat(parts).toString('utf8')).toBe(expected);
  });

  it('the byte stream refuses a line whose keys or column count differ', async () => {
    const drain = async (line: string) => {
      const converted = jsonLinesToCopy(
        [scalar('a'), scalar('b')],
        (async function* () {
          yield new TextEncoder().encode(`${line}\n`);
        })(),
      );
      for await (const _ of converted.bytes);
    };
    await expect(drain('{"a":1,"c":2}')).rejects.toThrow(/expected column b/);
    await expect(drain('{"a":1}')).rejects.toThrow(/2 columns/);
    await expect(drain('{"a":1,"b":2,"c":3}')).rejects.toThrow(/2 columns/);
    await expect(drain('{"a":"open,"b":2}')).rejects.toThrow(/not a backup row|columns/);
  });

  it('reads a key the server escaped', () => {
    expect(jsonLineConverter([scalar('we"ird\\name')])('{"we\\"ird\\\\name":1}')).toBe('1');
  });
});

const TABLES = ['copy_awkward', 'copy_fallback', 'copy_big', 'copy_big_child'];

/** Index and constraint definitions of the test's tables. */
async function indexesAndKeys(db: Db) {
  const { rows } = await sql<{ definition: string }>`
    select indexdef as definition from pg_indexes where schemaname = current_schema() and tablename like 'copy%'
    union all select conname || ' ' || pg_get_constraintdef(k.oid) from pg_constraint k
      join pg_class c on c.oid = k.conrelid where c.relname like 'copy%'
    order by 1`.execute(db);
  return rows.map((r) => r.definition);
}

describe.each(databaseKinds().filter((k) => k === 'postgres'))('restore through COPY text on %s', (kind) => {
  let source: TestDatabase;
  let s3: TestS3;
  let storage: Storage;

  beforeAll(async () => {
    [source, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    storage = storageFor(s3);
    await createAwkwardTables(source.db);
    await fillAwkwardTables(source.db);
  });
  afterAll(async () => {
    await Promise.all([source?.drop(), s3?.stop()]);
  });

  it('the server reads every converted line back as the row it came from', async () => {
    const session = await openSession(source.db);
    try {
      // Arrays as format 1 wrote them (JSON arrays), which the converter's array kind reads
      const columns = await session.query<{ name: string; type: string; array: boolean; asText: boolean }>(sql`
        select a.attname as name, format_type(a.atttypid, a.atttypmod) as type, t.typcategory = 'A' as array,
          t.typname in ('json', 'jsonb') as "asText"
        from pg_attribute a join pg_type t on t.oid = a.atttypid
        where a.attrelid = 'copy_awkward'::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`);
      const info = { name: 'copy_awkward', columns, primaryKey: ['id'] };
      const lines = (await session.query(exportQuery(info))).map((r) => r.line);

      await session.query(sql`create temp table copy_loaded (like copy_awkward)`);
      const kinds = columns.map((c): CopyColumn => ({ name: c.name, kind: c.array ? 'array' : 'scalar' }));
      // Both converters: the byte stream the restore uses, then the line by line one.
      const bytes = new TextEncoder().encode(`${lines.join('\n')}\n`);
      const converted = jsonLinesToCopy(
        kinds,
        (async function* () {
          for (let i = 0; i < bytes.length; i += 4096) yield bytes.subarray(i, i + 4096);
        })(),
      );
      await session.copyIn(sql`copy copy_loaded from stdin`, converted.bytes);
      expect(converted.rows()).toBe(lines.length);
      const convert = jsonLineConverter(kinds);
      const text = new TextEncoder().encode(lines.map((l) => `${convert(l)}\n`).join(''));
      await session.copyIn(
        sql`copy copy_loaded from stdin`,
        (async function* () {
          yield text;
        })(),
      );
      // Every source row twice, once from each converter.
      const differ = await session.query<{ n: number }>(sql`select count(*)::int as n from (
        (select s::text from copy_awkward s union all select s::text from copy_awkward s
          except all select l::text from copy_loaded l)
        union all (select l::text from copy_loaded l except all
          (select s::text from copy_awkward s union all select s::text from copy_awkward s))) d`);
      expect(differ[0]?.n).toBe(0);
      const [loaded] = await session.query<{ n: number }>(sql`select count(*)::int as n from copy_loaded`);
      expect(loaded?.n).toBe(2 * lines.length);
      await session.query(sql`drop table copy_loaded`);
    } finally {
      await session.release();
    }
  });

  it('a backup restores with identical rows, indexes and keys; a table with a domain column through the JSON path', {
    timeout: 90_000,
  }, async () => {
    const made = await createBackup(backupDeps(source.db, storage), { trigger: 'cli', holder: 'test' });
    const target = await createTestDatabase(kind);
    try {
      await createAwkwardTables(target.db);
      const summary = await restoreBackup(
        { ...backupDeps(target.db, storage), target: target.db, prefix: 'backups', encryptionKey: undefined },
        made.id,
      );
      expect(summary.tables.find((t) => t.name === 'copy_awkward')?.rows).toBe(3004);
      expect(await tableFingerprints(target.db, TABLES)).toEqual(await tableFingerprints(source.db, TABLES));
      const keys = await indexesAndKeys(source.db);
      expect(keys).toContain('copy_big_child_big_id_fkey FOREIGN KEY (big_id) REFERENCES copy_big(id)');
      expect(await indexesAndKeys(target.db)).toEqual(keys);
      await expect(sql`insert into copy_big values (1, 'again', 1)`.execute(target.db)).rejects.toThrow(
        /duplicate key/,
      );
    } finally {
      await target.drop();
    }
  });
});
