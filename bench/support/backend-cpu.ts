import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';

let ticksPerSecond: number | undefined;

/**
 * CPU time (user + system, microseconds) the PostgreSQL backends serving connections named
 * `applicationName` have used so far, read from /proc: the database side of a cost, which wall
 * time on a shared machine cannot isolate. Only for a server on this machine.
 */
export async function backendCpuMicros(url: string, applicationName: string): Promise<number> {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where application_name = $1',
      [applicationName],
    );
    let ticks = 0;
    for (const { pid } of rows) {
      try {
        // Fields after the command name (which is in parentheses): utime and stime are 14th and 15th.
        const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // The backend ended between the query and the read: its time is gone with it.
      }
    }
    return (ticks / (ticksPerSecond as number)) * 1e6;
  } finally {
    await client.end();
  }
}

/** CPU time (user + system, microseconds) a process on this machine has used so far, from /proc. */
export function processCpuMicros(pid: number): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1e6;
}
