import { sql } from 'kysely';
import type { Db } from '../../lib/db/connection.ts';

/** Types and values that are easy to get wrong between JSON and COPY text. */
export async function createAwkwardTables(db: Db) {
  await sql`create type copy_mood as enum ('calm', 'tab	bed', 'a"b\\c')`.execute(db);
  await sql`create domain copy_positive as integer check (value > 0)`.execute(db);
  await sql`create table copy_awkward (
    id bigint generated always as identity primary key,
    label text, amount numeric, price numeric(12, 2), big bigint, at timestamptz, local timestamp, day date,
    doc jsonb, raw_json json, blob bytea, texts text[], ints integer[], matrix integer[][], ats timestamptz[],
    amounts numeric[], flags boolean[], docs_text text[], flag boolean, uid uuid, ratio double precision, small real,
    mood copy_mood, moods copy_mood[], span interval, ip inet, range int4range, chars char(5), code varchar(20)
  )`.execute(db);
  // Large enough for its indexes and keys to be built after the load.
  await sql`create table copy_big (id bigint primary key, code text not null unique, n integer)`.execute(db);
  await sql`create index copy_big_n on copy_big (n) where n > 10`.execute(db);
  await sql`create table copy_big_child (id integer primary key, big_id bigint not null references copy_big (id))`.execute(
    db,
  );
  // A domain column: this table takes the json_populate_record path, and must round-trip too.
  await sql`create table copy_fallback (id integer primary key, n copy_positive, note text)`.execute(db);
}

export async function fillAwkwardTables(db: Db) {
  await sql`insert into copy_awkward (label, amount, price, big, at, local, day, doc, raw_json, blob, texts, ints,
      matrix, ats, amounts, flags, docs_text, flag, uid, ratio, small, mood, moods, span, ip, range, chars, code) values
    (e'tab\\there \\\\ back\\\\slash \\\\N "quoted" ЁЖ 😀 é \\r\\n new line \\x01 \\x1f end', 1.50, 1.5,
     9223372036854775807, '2026-01-02 03:04:05.123456+05:30', '2026-01-02 03:04:05.000001', '2000-02-29',
     '{"a": 1.5e300, "b": [1, null], "c": "é", "d": "back\\\\slash \\"q\\" tab\\t", "n": 0.10}',
     '{"z":1,  "z":2, "s": "\\\\u0000 not a nul"}', '\\x00ff105c0a', '{"a,b","c\\"d",NULL,"NULL","","x\\\\y","{br}"," sp "}',
     '{1,NULL,3}', '{{1,2},{3,4}}', '{"2026-01-01 00:00:00.000001+00",NULL}', '{1.50,NaN,-0.000000000000000000000001}',
     '{t,f,NULL}', array[e'tab\\tin', e'new\\nline', '\\.', '.', '\\N'], true, gen_random_uuid(), '-0', 'NaN',
     'tab	bed', '{calm,"a\\"b\\\\c"}', '1 year 2 mons 3 days 04:05:06.789', '10.0.0.1/8', '[1,5)', 'ab', 'x\\y'),
    ('', -0.000000000000000000000001, -0.01, -9223372036854775808, '-infinity', 'infinity', '4713-01-01 BC', 'null',
     '"s"', '', '{}', '{}', '{}', '{}', '{}', '{}', '{}', false, '00000000-0000-0000-0000-000000000000', 1e-310,
     'Infinity', 'a"b\\c', '{}', '-1 day', '::1', 'empty', '', ''),
    (null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
     null, null, null, null, null, null, null, null, null),
    ('\\.', 123456789012345678901234567890.123456789, 9999999999.99, 9007199254740993, '1970-01-01 00:00:00+00',
     '0001-01-01 00:00:00', '5874897-12-31', '[]', 'null', '\\x', '{"\\\\"}', '{-2147483648,2147483647}', '{{NULL}}',
     '{infinity}', '{1e-30}', '{true}', '{""}', null, null, 0.1, 3.4028235e38, 'calm', '{NULL}', '00:00:00.000001',
     '2001:db8::/32', '(,)', 'a b  ', repeat('z', 20))`.execute(db);
  await sql`insert into copy_awkward (label, amount, at, doc, texts)
    select 'row ' || g || e'\\t' || g, g / 7.0, now() - g * interval '1 microsecond', jsonb_build_object('g', g),
      array['e' || g, null] from generate_series(1, 3000) g`.execute(db);
  await sql`insert into copy_fallback select g, g, e'note\\t' || g from generate_series(1, 50) g`.execute(db);
  await sql`insert into copy_big select g, 'c' || g, g % 100 from generate_series(1, 12000) g`.execute(db);
  await sql`insert into copy_big_child select g, g * 3 from generate_series(1, 100) g`.execute(db);
}
