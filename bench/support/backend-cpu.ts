import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';

let ticksPerSecond: number | undefined;

/** CPU time (user + system, microseconds) each process has used so far, by pid. */
export type CpuByProcess = Map<number, number>;

/**
 * The CPU the processes of `after` used since `before` (µs). A process that started in between
 * counts whole; one that ended in between is left out, since what it used is gone with it. So the
 * figure can fall short when a pool closes an idle connection during a round, but it cannot go
 * below zero, as a plain difference of two sums did.
 */
export function cpuUsedSince(before: CpuByProcess, after: CpuByProcess): number {
  let micros = 0;
  for (const [pid, used] of after) micros += used - (before.get(pid) ?? 0);
  return micros;
}

/**
 * CPU time the PostgreSQL backends serving connections named `applicationName` have used so far,
 * read from /proc: the database side of a cost, which wall time on a shared machine cannot
 * isolate. Only for a server on this machine.
 */
export async function backendCpu(url: string, applicationName: string): Promise<CpuByProcess> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where application_name = $1',
      [applicationName],
    );
    const used: CpuByProcess = new Map();
    for (const { pid } of rows) {
      try {
        used.set(pid, processCpuMicros(pid));
      } catch {
        // The backend ended between the query and the read: its time is gone with it.
      }
    }
    return used;
  } finally {
    await client.end();
  }
}

/** The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU time (user + system, microseconds) a process on this machine has used so far, from /proc. */
export function processCpuMicros(pid: number): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  // utime and stime: the 14th and 15th fields of the line, the 12th and 13th after the name.
  const fields = statFields(pid);
  return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1e6;
}

/** The live processes whose parent is `pid`, with their command lines (Linux /proc). */
export function childProcesses(pid: number): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(Number(entry))[1]) !== pid) continue; // the 4th field: the parent's pid
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid: Number(entry), command });
    } catch {
      // gone since the listing
    }
  }
  return found;
}

/** CPU time the live children of `pid` have used so far: PGlite's process beside the server. */
export function childProcessesCpu(pid: number): CpuByProcess {
  const used: CpuByProcess = new Map();
  for (const child of childProcesses(pid)) {
    try {
      used.set(child.pid, processCpuMicros(child.pid));
    } catch {
      // ended since the listing
    }
  }
  return used;
}
