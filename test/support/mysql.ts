import { randomBytes } from 'node:crypto';
import { type Connection, createConnection } from 'mysql2/promise';

export type TestMysql = {
  /** URL of this suite's own database. */
  url: string;
  /** Host port of the server (to put a proxy in front of it). */
  port: number;
  /** A connection to it, for arranging and reading the source side. */
  conn: Connection;
  drop(): Promise<void>;
};

/**
 * The MySQL/MariaDB suites run against MYSQL_URL (CI sets it when a server answers on 3306).
 * Unset or unreachable outside CI: the reason to skip. Unreachable in CI: a failure, not a skip.
 */
export async function mysqlSkipReason(): Promise<string | null> {
  const url = process.env.MYSQL_URL;
  if (!url) return 'MYSQL_URL is not set (e.g. mysql://root@127.0.0.1:3306/test)';
  try {
    const conn = await createConnection({ uri: url, connectTimeout: 3000 });
    await conn.end();
    return null;
  } catch (error) {
    if (process.env.CI) throw new Error(`MYSQL_URL is set in CI but does not answer: ${(error as Error).message}`);
    return `no MySQL answers at MYSQL_URL: ${(error as Error).message}`;
  }
}

/** A fresh database on the MYSQL_URL server for one suite, dropped afterwards. */
export async function createTestMysql(): Promise<TestMysql> {
  const server = new URL(process.env.MYSQL_URL as string);
  const name = `opsbase_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = await createConnection({ uri: server.toString() });
  await admin.query(`create database \`${name}\` character set utf8mb4`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  const conn = await createConnection({ uri: url.toString(), dateStrings: true, multipleStatements: true });
  return {
    url: url.toString(),
    port: Number(server.port || 3306),
    conn,
    async drop() {
      await conn.end().catch(() => conn.destroy());
      const dropper = await createConnection({ uri: server.toString() });
      await dropper.query(`drop database if exists \`${name}\``);
      await dropper.end();
    },
  };
}
