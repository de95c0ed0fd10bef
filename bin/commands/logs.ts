import { Command, Option } from 'commander';
import type { Db } from '../../lib/db/connection.ts';
import { listRequestLogs, type RequestLogView } from '../../lib/observability/queries.ts';
import { cliConfig, withDatabase } from './context.ts';

const STATUS = /^([1-5]\d\d|[1-5]xx)$/;

function line(r: RequestLogView, color: boolean): string {
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const status = String(r.status);
  const shown = r.status >= 500 ? paint(31, status) : r.status >= 400 ? paint(33, status) : paint(32, status);
  const error = r.errorCode ? `  ${r.errorCode}: ${r.errorMessage ?? ''}` : '';
  return `${r.createdAt}  ${shown}  ${r.method.padEnd(6)} ${r.path}  ${r.durationMs.toFixed(1)} ms  ${r.userId ?? '-'}  ${r.ip ?? '-'}${error}`;
}

export function logsCommand(): Command {
  const logs = new Command('logs').description('Read the request log from a terminal');

  logs
    .command('tail')
    .description('Print the newest request logs, then follow new ones (Ctrl-C stops)')
    .option('-n, --lines <n>', 'how many to print first', '20')
    .option('--status <status>', 'an exact status (404) or a class (5xx)')
    .addOption(new Option('--method <method>', 'HTTP method').choices(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']))
    .option('--path <text>', 'path contains')
    .option('--user <id>', 'user id')
    .option('--no-follow', 'print and exit')
    .option('--interval <ms>', 'how often to look for new rows', '1000')
    .action(
      async (o: {
        lines: string;
        status?: string;
        method?: string;
        path?: string;
        user?: string;
        follow: boolean;
        interval: string;
      }) => {
        const lines = Number(o.lines);
        const interval = Number(o.interval);
        if (!Number.isInteger(lines) || lines < 1 || lines > 200) throw new Error('--lines must be between 1 and 200');
        if (!Number.isInteger(interval) || interval < 100) throw new Error('--interval must be at least 100 (ms)');
        if (o.status && !STATUS.test(o.status)) throw new Error('--status must be a status (404) or a class (5xx)');
        const status = o.status?.endsWith('xx')
          ? { class: Number(o.status[0]) }
          : o.status
            ? { exact: Number(o.status) }
            : undefined;
        const filter = { status, method: o.method, pathContains: o.path, userId: o.user };
        const color = Boolean(process.stdout.isTTY);
        await withDatabase(cliConfig(), async (db: Db) => {
          const first = await listRequestLogs(db, { ...filter, limit: lines });
          const shown = [...first.items].reverse();
          for (const r of shown) console.log(line(r, color));
          if (!o.follow) return;
          // Follow: newest first pages down to what was already printed, then print oldest first.
          let last = shown.at(-1);
          let stop = false;
          process.once('SIGINT', () => {
            stop = true;
          });
          while (!stop) {
            await new Promise((resolve) => setTimeout(resolve, interval));
            const fresh = await listRequestLogs(db, {
              ...filter,
              from: last ? new Date(last.createdAt) : undefined,
              limit: 200,
            });
            const unseen = fresh.items
              .filter(
                (r) => !last || r.createdAt > last.createdAt || (r.createdAt === last.createdAt && r.id > last.id),
              )
              .reverse();
            for (const r of unseen) console.log(line(r, color));
            last = unseen.at(-1) ?? last;
          }
        });
      },
    );

  return logs;
}
