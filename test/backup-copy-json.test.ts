import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeTable, exportLines, exportQuery } from '../lib/backup/catalog.ts';
import type { Bytes } from '../lib/backup/codec.ts';
import { type ColumnKind, CopyRowError, copyToJsonLines, type ExportColumn } from '../lib/backup/copy-json.ts';
import { createBackup } from '../lib/backup/create.ts';
import { compareWithManifest } from '../lib/backup/drill.ts';
import { restoreBackup } from '../lib/backup/restore.ts';
import { openSession } from '../lib/backup/session.ts';
import { verifyBackup } from '../lib/backup/verify.ts';
import type { Db } from '../lib/db/connection.ts';
import { createAwkwardTables, fillAwkwardTables } from './support/awkward-tables.ts';
import { backupDeps, storageFor, tableFingerprints } from './support/backup.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { startTestS3 } from './support/s3.ts';

const Q = '\x01'; // COPY_LINES' quote and delimiter
const D = '\x02';

function chunked(text: string, size: number): Bytes {
  const bytes = new TextEncoder().encode(text);
  return (async function* () {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  })();
}

async function drain(source: Bytes): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const chunk of source) parts.push(chunk.slice());
  return Buffer.concat(parts).toString('utf8');
}

async function convert(columns: [string, ColumnKind][], rows: string[][], size = 1 << 16) {
  const copy = rows.map((fields) => `${fields.join(D)}\n`).join('');
  const lines = copyToJsonLines(
    chunked(copy, size),
    columns.map(([name, kind]): ExportColumn => ({ name, kind })),
  );
  return { text: await drain(lines.bytes), rows: lines.rows() };
}

describe('COPY columns to JSON lines', () => {
  it('writes numbers as they are, and NaN and infinities as strings, as row_to_json does', async () => {
    const { text } = await convert(
      [['n', 'number']],
      [['1.50'], ['-0'], ['1e-05'], ['NaN'], ['Infinity'], ['-Infinity'], ['-9223372036854775808'], ['']],
    );
    expect(text).toBe(
      '{"n":1.50}\n{"n":-0}\n{"n":1e-05}\n{"n":"NaN"}\n{"n":"Infinity"}\n{"n":"-Infinity"}\n' +
        '{"n":-9223372036854775808}\n{"n":null}\n',
    );
  });

  it('escapes strings as escape_json does, and tells an empty string (quoted) from NULL (empty)', async () => {
    const { text } = await convert(
      [
        ['s', 'string'],
        ['b', 'bool'],
      ],
      [
        ['tab\there "q" back\\slash é 😀 \x1f\x7f', 't'],
        [`${Q}${Q}`, 'f'],
        ['', ''],
        [`${Q}new\nline ${Q}${Q} delim ${D} cr\r${Q}`, 't'],
      ],
    );
    expect(text.split('\n')).toEqual([
      '{"s":"tab\\there \\"q\\" back\\\\slash é 😀 \\u001f\x7f","b":true}',
      '{"s":"","b":false}',
      '{"s":null,"b":null}',
      '{"s":"new\\nline \\u0001 delim \\u0002 cr\\r","b":true}',
      '',
    ]);
  });

  it('writes timestamps in XSD form, the offset with its minutes, BC and infinities kept', async () => {
    const { text } = await convert(
      [
        ['tz', 'timestamptz'],
        ['local', 'timestamp'],
      ],
      [
        ['2026-01-02 03:04:05.123456+00', '2026-01-02 03:04:05'],
        ['2026-01-02 03:04:05+05:30', '4713-01-01 00:00:00 BC'],
        ['0044-03-15 12:00:00-00:01:15 BC', '10000-01-01 00:00:00'],
        ['infinity', '-infinity'],
      ],
    );
    expect(text.split('\n')).toEqual([
      '{"tz":"2026-01-02T03:04:05.123456+00:00","local":"2026-01-02T03:04:05"}',
      '{"tz":"2026-01-02T03:04:05+05:30","local":"4713-01-01T00:00:00 BC"}',
      '{"tz":"0044-03-15T12:00:00-00:01:15 BC","local":"10000-01-01T00:00:00"}',
      '{"tz":"infinity","local":"-infinity"}',
      '',
    ]);
  });

  it('passes the server’s JSON through and escapes column names', async () => {
    const { text } = await convert(
      [
        ['we"ird\\name', 'json'],
        ['id', 'number'],
      ],
      [['["a",null,{"k":1}]', '7']],
    );
    expect(text).toBe('{"we\\"ird\\\\name":["a",null,{"k":1}],"id":7}\n');
  });

  it('gives the same bytes whatever the chunk boundaries, a row longer than a chunk included', async () => {
    const columns: [string, ColumnKind][] = [
      ['id', 'number'],
      ['s', 'string'],
      ['at', 'timestamptz'],
    ];
    const rows = [
      ['1', `${Q}a${Q}${Q}b\nc${Q}`, '2026-01-01 00:00:00+00'],
      ['2', 'x'.repeat(300_000), ''],
      ['3', '', 'infinity'],
      ['4', 'é😀', '2026-01-01 00:00:00.5+00'],
    ];
    const whole = await convert(columns, rows);
    expect(whole.rows).toBe(4);
    for (const size of [1, 2, 3, 7, 64, 4096]) {
      const split = await convert(columns, rows, size);
      expect(split.text).toBe(whole.text);
      expect(split.rows).toBe(4);
    }
  });

  it('refuses output that ends inside a row, or a quoted field not followed by a delimiter', async () => {
    const cut = copyToJsonLines(chunked(`1${D}abc`, 2), [
      { name: 'a', kind: 'number' },
      { name: 'b', kind: 'string' },
    ]);
    await expect(drain(cut.bytes)).rejects.toThrow(CopyRowError);
    const bad = copyToJsonLines(chunked(`${Q}x${Q}y${D}1\n`, 64), [
      { name: 'a', kind: 'string' },
      { name: 'b', kind: 'number' },
    ]);
    await expect(drain(bad.bytes)).rejects.toThrow(/quoted COPY field/);
  });
});

/** The built-in types the awkward tables leave out. */
const MORE_TYPES_TABLE = sql`create table copy_json_more (id integer primary key, small int2, t time, tz timetz,
  net cidr, mac macaddr, mac8 macaddr8, cash money, o oid, x xml, n name, c "char", f4 real, d date, ts timestamp,
  f8 float8, tsz timestamptz)`;

/**
 * Arrays of each kind; box[], whose text form splits elements on ;, and int2vector, an array of
 * int2 written with spaces (both left to the server's to_json in format 1).
 */
const ARRAYS_TABLE = sql`create table copy_json_arrays (id integer primary key, texts text[], nums float8[],
  stamps timestamp[], blobs bytea[], days date[], spans interval[], ids uuid[], flags bool[], docs jsonb[], boxes box[],
  vec int2vector)`;

/** The tables a restore of the source needs in its target (but copy_json_arrays). */
async function createTargetTables(db: Db) {
  await createAwkwardTables(db);
  await sql`create table copy_json_quoting ("we""ird\\name" integer primary key, "ünï code" text, " " text, j json[])`.execute(
    db,
  );
  await MORE_TYPES_TABLE.execute(db);
}

describe.each(databaseKinds().filter((k) => k === 'postgres'))('the COPY export on %s', (kind) => {
  let source: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase(kind);
    await createAwkwardTables(source.db);
    await fillAwkwardTables(source.db);
    // What COPY_LINES has to quote (its own quote and delimiter, newlines; a json value keeps its raw
    // newline, even through to_json) and odd column names.
    await sql`create table copy_json_quoting ("we""ird\\name" integer primary key, "ünï code" text, " " text, j json[])`.execute(
      source.db,
    );
    await sql`insert into copy_json_quoting values
      (1, e'\\x01 quote \\x01\\x01 twice', e'\\x02 delimiter', array[e'{"a":\\n1}'::json]),
      (2, e'line\\nbreak\\r', '', null), (3, null, e'\\x01', '{}')`.execute(source.db);
    // Arrays as array_out writes them: bounds, dimensions, quoting and escapes, NULL and "NULL".
    await ARRAYS_TABLE.execute(source.db);
    await sql`insert into copy_json_arrays values
      (1, '[0:2]={a,"b c",NULL}', '[-1:0][2:3]={{NaN,-Infinity},{1e-300,-0}}', '{"2026-01-01 00:00:00.5",infinity,NULL}',
        array['\\x00'::bytea, '\\x5c22'::bytea], '{2026-02-28,"0044-03-15 BC"}', '{"1 day",-00:00:01}',
        '{00000000-0000-0000-0000-000000000001}', '{{t,f},{NULL,t}}', array['{"a": [1, "x"]}'::jsonb, 'null'::jsonb],
        '{(1,2),(3,4);(0,0),(1,1)}', '1 2 3'),
      (2, array[e'\\x01 quote', e'new\\nline', e'tab\\t', 'back\\\\slash "q"', '', 'NULL', 'null', ' ', '{}', 'é😀', e'\\x02'],
        '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', ''),
      (3, '{{"",NULL},{"}","{"}}', null, null, null, null, null, null, null, null, null, null)`.execute(source.db);
    // The built-in types the awkward tables leave out, at their edges.
    await MORE_TYPES_TABLE.execute(source.db);
    await sql`insert into copy_json_more values
      (1, -32768, '23:59:59.999999', '00:00:01+05:30', '10.1.0.0/16', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
        '-92233720368547758.08', 4294967295, '<a x="1">é &amp; "q"</a>', 'we"ird', 'x', 'NaN', 'infinity', '-infinity',
        '-Infinity', '0044-03-15 12:00:00.5+00 BC'),
      (2, 32767, '00:00', '12:00-11', '::/0', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00:00:00', 0, 0, '', '', e'\\001',
        '-0', '0001-01-01', '294276-12-31 23:59:59.999999', 1.7976931348623157e308, '2026-11-28 01:02:03.000001+00'),
      (3, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null)`.execute(
      source.db,
    );
  });
  afterAll(async () => {
    await source?.drop();
  });

  it('writes the very bytes row_to_json writes, for every type and edge value', async () => {
    const session = await openSession(source.db);
    try {
      expect(session.copy).toBe(true);
      // format 2 (arrays as their text) and format 1 (arrays as JSON arrays), which drills of old backups write
      for (const arraysAsText of [true, false]) {
        for (const table of [
          'copy_awkward',
          'copy_fallback',
          'copy_big',
          'copy_json_quoting',
          'copy_json_more',
          'copy_json_arrays',
        ]) {
          const info = await describeTable(session, table, arraysAsText);
          const written = await session.query(exportQuery(info));
          const expected = written.map((r) => `${r.line}\n`).join('');
          const lines = exportLines(session, info, 5000);
          const text = await drain(lines.bytes);
          expect(text, `${table}, arrays as text: ${arraysAsText}`).toBe(expected);
          expect(lines.rows()).toBe(written.length);
          // one line a row, a json value's raw newline included
          expect(text.split('\n').length - 1, table).toBe(written.length);
        }
      }
      // The awkward table holds an enum, an array of it and a range (read through the server's
      // to_json) as well as every kind converted in Node, arrays of them included.
      const kinds = async (table: string, arraysAsText: boolean) =>
        (await describeTable(session, table, arraysAsText)).columns.map((c) => c.kind);
      expect([...new Set(await kinds('copy_awkward', false))].sort()).toEqual([
        'bool',
        'bool[]',
        'json',
        'number',
        'number[]',
        'string',
        'string[]',
        'timestamp',
        'timestamptz',
        'timestamptz[]',
      ]);
      expect([...new Set(await kinds('copy_awkward', true))].sort()).toEqual([
        'bool',
        'json',
        'number',
        'string',
        'timestamp',
        'timestamptz',
      ]);
      // format 1: box[] (split on ;), arrays of json and int2vector (spaces) are the server's to_json
      expect(await kinds('copy_json_arrays', false)).toEqual([
        'number',
        'string[]',
        'number[]',
        'timestamp[]',
        'string[]',
        'string[]',
        'string[]',
        'string[]',
        'bool[]',
        'json',
        'json',
        'json',
      ]);
      expect(new Set(await kinds('copy_json_arrays', true))).toEqual(new Set(['number', 'string']));
    } finally {
      await session.release();
    }
  });

  it('a backup of those tables restores them exactly: arrays with their bounds, NULLs and json nulls, int2vector', async () => {
    const s3 = await startTestS3();
    const target = await createTestDatabase(kind);
    try {
      const storage = storageFor(s3);
      const made = await createBackup(backupDeps(source.db, storage), { trigger: 'cli', holder: 'test' });
      expect(made.manifest.format).toBe('opsbase-backup/2');
      // verify counts each object's lines against the rows: a split line would fail it
      const verified = await verifyBackup(backupDeps(source.db, storage), made.id);
      expect(verified.problems).toEqual([]);
      await createTargetTables(target.db);
      await ARRAYS_TABLE.execute(target.db);
      await restoreBackup(
        { ...backupDeps(target.db, storage), target: target.db, prefix: 'backups', encryptionKey: undefined },
        made.id,
      );
      // what a drill checks after its restore: per table, rows and row hash against the manifest
      expect(await compareWithManifest(target.db, made.manifest)).toEqual([]);
      const tables = [
        'copy_awkward',
        'copy_big',
        'copy_fallback',
        'copy_json_quoting',
        'copy_json_more',
        'copy_json_arrays',
      ];
      expect(await tableFingerprints(target.db, tables)).toEqual(await tableFingerprints(source.db, tables));
      const arrays = await sql<{ lower: number; jsonNull: boolean; vec: string }>`select array_lower(texts, 1) as lower,
        docs[2] is not null and docs[2] = 'null'::jsonb as "jsonNull", vec::text as vec from copy_json_arrays where id = 1`.execute(
        target.db,
      );
      expect(arrays.rows).toEqual([{ lower: 0, jsonNull: true, vec: '1 2 3' }]);
    } finally {
      await Promise.all([target.drop(), s3.stop()]);
    }
  });

  it('a backup in format 1 (arrays as JSON arrays) still verifies, drills and restores', async () => {
    const s3 = await startTestS3();
    const target = await createTestDatabase(kind);
    try {
      const storage = storageFor(s3);
      // int2vector does not come back from format 1 (to_json writes it as an array)
      const deps = { ...backupDeps(source.db, storage, { BACKUP_EXCLUDE_TABLES: 'request_logs,copy_json_arrays' }) };
      const made = await createBackup({ ...deps, format: 'opsbase-backup/1' }, { trigger: 'cli', holder: 'test' });
      expect(made.manifest.format).toBe('opsbase-backup/1');
      const verified = await verifyBackup(deps, made.id);
      expect(verified.problems).toEqual([]);
      await createTargetTables(target.db);
      await restoreBackup(
        { ...backupDeps(target.db, storage), target: target.db, prefix: 'backups', encryptionKey: undefined },
        made.id,
      );
      // a drill of it exports the restored rows as format 1 did, arrays as JSON, to hash them
      expect(await compareWithManifest(target.db, made.manifest)).toEqual([]);
      const tables = ['copy_awkward', 'copy_big', 'copy_fallback', 'copy_json_more'];
      expect(await tableFingerprints(target.db, tables)).toEqual(await tableFingerprints(source.db, tables));
      // format 1 wrote a raw newline of a json value nested in an array as a space
      const rows = async (db: Db) =>
        (
          await sql<{ row: string }>`select concat_ws('|', "we""ird\\name", "ünï code", " ", j::text) as row
            from copy_json_quoting order by 1`.execute(db)
        ).rows.map((r) => r.row);
      const expected = (await rows(source.db)).map((row) => row.replace(':\n1}', ': 1}'));
      expect(await rows(target.db)).toEqual(expected);
    } finally {
      await Promise.all([target.drop(), s3.stop()]);
    }
  });
});
