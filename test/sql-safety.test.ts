import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/paths.ts';
import { stringBuiltSql } from './support/sql-scan.ts';

// SQL is built only through Kysely's builder or `sql` tagged templates (values become parameters,
// identifiers go through sql.ref/sql.table/sql.id). This parses the source (TypeScript's own
// parser, test/support/sql-scan.ts) for the ways SQL gets built from strings instead, and names
// the file and line of each.

const SOURCE_DIRS = ['lib', 'functions', 'bin', 'migrations'];
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(name) && !/\.test\.ts$/.test(name) ? [path] : [];
  });
}

describe('SQL is never built from strings', () => {
  it(`finds no string-built SQL in ${SOURCE_DIRS.join('/, ')}/`, () => {
    const files = SOURCE_DIRS.flatMap((dir) => sourceFiles(join(ROOT, dir)));
    expect(files.length).toBeGreaterThan(20);
    const problems = files.flatMap((file) => stringBuiltSql(relative(ROOT, file), readFileSync(file, 'utf8')));
    expect(problems).toEqual([]);
  });

  // The scanner itself, on what it must and must not report. Snippets write #{x} for ${x}.
  const code = (snippet: string) => snippet.replaceAll('#{', '${');
  it.each([
    'sql.raw(`drop table #{name}`)',
    "sql.raw('select * from ' + table)",
    'sql.raw(statement)',
    'client.query(`select * from users where id = #{id}`)',
    "client.query('select * from users where email = \\'' + email + '\\'')",
    'const text = `select * from users where id = #{id}`;',
    'const text = `\n  DELETE FROM leads WHERE id = #{id}`;',
    "const text = 'select * from users where id = ' + id;",
    "const text = base + ' where id = ' + id;",
    'const ddl = `create table #{name} (id int)`;',
    'admin.query(`create database #{pg.escapeIdentifier(name)} owner #{owner}`)',
  ])('reports %s', (snippet) => {
    expect(stringBuiltSql('snippet.ts', code(snippet))).toHaveLength(1);
  });

  it.each([
    'sql`select * from users where id = #{id}`',
    'sql<{ n: number }>`select count(*) as n from #{sql.table(name)}`',
    'sql<{\n  n: number;\n}>`\n  select count(*) as n from users where id = #{id}`',
    "sql.raw('vacuum analyze')",
    "db.selectFrom('users').where('id', '=', id)",
    'logger.info(`selected #{count} rows`)',
    'throw new Error(`update failed for #{name}`)',
    "const message = 'select a user' + suffix;",
    "const label = 'Delete from the list: ' + name;",
    'admin.query(`create database #{pg.escapeIdentifier(name)}`)',
  ])('does not report %s', (snippet) => {
    expect(stringBuiltSql('snippet.ts', code(snippet))).toEqual([]);
  });
});
