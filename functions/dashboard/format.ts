// How the dashboard writes numbers, sizes, durations and times. Times are rendered in UTC (the
// client script shows them in the viewer's zone); relative phrases need no zone at all.

const grouped = new Intl.NumberFormat('en-US');

export function count(n: number): string {
  return grouped.format(n);
}

export function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** 0.4 ms, 12 ms, 1.3 s, 4 min, 2.5 h */
export function duration(ms: number): string {
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 172_800_000) return `${(ms / 3_600_000).toFixed(ms < 36_000_000 ? 1 : 0)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

/** "3 min ago", "in 5 h", "just now" */
export function relative(at: Date | string, now = Date.now()): string {
  const diff = new Date(at).getTime() - now;
  if (Math.abs(diff) < 45_000) return 'just now';
  return diff < 0 ? `${duration(-diff)} ago` : `in ${duration(diff)}`;
}

/** The server-side fallback text of a <time>: "2026-11-27 12:05:03 UTC". */
export function utcText(at: Date | string): string {
  return `${new Date(at).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function percent(n: number): string {
  return `${n >= 10 || n === 0 ? Math.round(n) : n.toFixed(1)}%`;
}
