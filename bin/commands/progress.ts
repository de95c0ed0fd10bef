import cliProgress from 'cli-progress';
import type { BackupProgress } from '../../lib/backup/progress.ts';

export const formatBytes = (bytes: number) =>
  bytes >= 1024 ** 3
    ? `${(bytes / 1024 ** 3).toFixed(2)} GB`
    : bytes >= 1024 ** 2
      ? `${(bytes / 1024 ** 2).toFixed(1)} MB`
      : bytes >= 1024
        ? `${(bytes / 1024).toFixed(1)} KB`
        : `${bytes} B`;

/** This process's peak resident memory so far (the most a backup or restore held at once). */
export const peakMemory = () => `peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`;

export type ProgressRenderer = { onProgress(event: BackupProgress): void; stop(): void };

/**
 * Progress for backup, verify and restore. On a terminal: one bar per table (rows of the
 * estimate, bytes, rows/s, ETA) drawn by cli-progress. Elsewhere (cron, CI, a pipe): one plain
 * line per finished table and per step, so logs stay readable.
 */
export function progressRenderer(stream: NodeJS.WriteStream = process.stderr): ProgressRenderer {
  const started = new Map<string, number>();
  const rate = (table: string, rows: number) => {
    const seconds = (Date.now() - (started.get(table) ?? Date.now())) / 1000;
    return seconds > 0 ? Math.round(rows / seconds) : 0;
  };
  if (!stream.isTTY) {
    return {
      onProgress(event) {
        if (event.phase === 'step') stream.write(`${event.message}\n`);
        if (event.phase !== 'table') return;
        if (!started.has(event.table)) started.set(event.table, Date.now());
        if (event.done) {
          stream.write(
            `${event.table}: ${event.rows} rows, ${formatBytes(event.bytes)} (${rate(event.table, event.rows)} rows/s)\n`,
          );
        }
      },
      stop() {},
    };
  }
  const bars = new cliProgress.MultiBar(
    {
      stream,
      format: '{table} [{bar}] {percentage}% | {value}/{total} rows | {size} | {speed} rows/s | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const byTable = new Map<string, cliProgress.SingleBar>();
  return {
    onProgress(event) {
      if (event.phase === 'step') {
        bars.log(`${event.message}\n`);
        return;
      }
      if (event.phase !== 'table') return;
      let bar = byTable.get(event.table);
      const total = Math.max(event.estimatedRows, event.rows, 1);
      const payload = {
        table: event.table.padEnd(24),
        size: formatBytes(event.bytes),
        speed: rate(event.table, event.rows),
      };
      if (!bar) {
        started.set(event.table, Date.now());
        bar = bars.create(total, 0, payload);
        byTable.set(event.table, bar);
      }
      bar.setTotal(event.done ? Math.max(event.rows, 1) : total);
      bar.update(event.done ? Math.max(event.rows, 1) : event.rows, payload);
    },
    stop() {
      bars.stop();
    },
  };
}
