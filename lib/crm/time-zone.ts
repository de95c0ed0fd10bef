/**
 * Wall-clock times in an IANA time zone, converted to instants with the Intl API (works on Node
 * and workerd, no tz database of our own). DST follows Temporal's "compatible" rule: a time that
 * occurs twice (clocks go back) is its first occurrence; a time that does not exist (clocks go
 * forward) is moved forward by the gap, e.g. 02:30 on a spring-forward night in New York is 03:30 EDT.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

export function isTimeZone(zone: string): boolean {
  try {
    formatterFor(zone);
    return true;
  } catch {
    return false;
  }
}

const UTC_ZONES = new Set(['UTC', 'Etc/UTC', 'Etc/GMT', 'GMT', 'Etc/Universal', 'Universal', 'Zulu']);
const MINUTE = 60_000;
/** Offsets by zone and minute: Intl is slow (microseconds a call) and a sync converts every row. */
const offsetCache = new Map<string, Map<number, number>>();

/** The zone's UTC offset in ms at an instant (local = utc + offset). Transitions fall on whole minutes. */
export function offsetAt(zone: string, epochMs: number): number {
  if (UTC_ZONES.has(zone)) return 0;
  let byMinute = offsetCache.get(zone);
  if (!byMinute) {
    byMinute = new Map();
    offsetCache.set(zone, byMinute);
  }
  const minute = Math.floor(epochMs / MINUTE);
  let offset = byMinute.get(minute);
  if (offset === undefined) {
    if (byMinute.size > 50_000) byMinute.clear();
    offset = intlOffset(zone, minute * MINUTE);
    byMinute.set(minute, offset);
  }
  return offset;
}

function intlOffset(zone: string, epochMs: number): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(zone).formatToParts(new Date(epochMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const asUtc = Date.UTC(
    parts.year ?? 0,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour,
    parts.minute,
    parts.second,
  );
  return asUtc - epochMs; // epochMs is a whole minute
}

const HOUR = 3_600_000;

/** A wall-clock time (given as if it were UTC: Date.UTC of its fields) in `zone`, as an instant. */
export function wallClockToInstant(wallMs: number, zone: string): number {
  if (UTC_ZONES.has(zone)) return wallMs;
  // At most one transition within a day either side: the offsets before and after are the only candidates.
  const before = offsetAt(zone, wallMs - 24 * HOUR);
  const after = offsetAt(zone, wallMs + 24 * HOUR);
  const candidates = [...new Set([before, after])]
    .map((offset) => wallMs - offset)
    .filter((instant) => wallMs - offsetAt(zone, instant) === instant);
  if (candidates.length > 0) return Math.min(...candidates); // twice: the first occurrence
  return wallMs - before; // the gap: forward by its length
}

const WALL_CLOCK = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?$/;
const WITH_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;

/**
 * A timestamp string as an instant: with an offset (`Z`, `+05:30`) it is exact; without one it
 * is a wall-clock time in `zone`. Undefined when it is not a real date and time.
 */
export function parseTimestamp(value: string, zone: string): Date | undefined {
  // MySQL's own layout, the one a sync reads on every row, without the regular expressions.
  const fast = mysqlDatetime(value);
  if (fast !== undefined) return Number.isNaN(fast) ? undefined : new Date(wallClockToInstant(fast, zone));
  const text = value.trim();
  if (WITH_OFFSET.test(text)) {
    const at = new Date(text.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    return Number.isNaN(at.getTime()) ? undefined : at;
  }
  const m = WALL_CLOCK.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second = 0] = m.slice(1, 7).map(Number) as number[];
  const ms = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  const wall = Date.UTC(year as number, (month as number) - 1, day, hour, minute, second, ms);
  const check = new Date(wall);
  // Date.UTC rolls 2026-02-30 over to March: refuse what does not round-trip.
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== (month as number) - 1 ||
    check.getUTCDate() !== day ||
    (hour as number) > 23 ||
    (minute as number) > 59 ||
    second > 59
  ) {
    return undefined;
  }
  return new Date(wallClockToInstant(wall, zone));
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The value of `count` digits at `at`, or NaN when one is not a digit. */
function digits(text: string, at: number, count: number): number {
  let n = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return n;
}

/**
 * `YYYY-MM-DD HH:MM:SS` with up to six fraction digits (how MySQL sends DATETIME and TIMESTAMP)
 * as Date.UTC of its fields; NaN when it has that layout but is not a real date and time
 * (2026-02-30, 24:00:00); undefined when it has another layout (the general parser reads it).
 */
function mysqlDatetime(text: string): number | undefined {
  const length = text.length;
  if (length < 19 || length > 26 || (length > 19 && (length === 20 || text.charCodeAt(19) !== 46))) return undefined;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 32) return undefined;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  const fraction = length > 19 ? digits(text, 20, length - 20) : 0;
  if (Number.isNaN(year + month + day + hour + minute + second + fraction)) return undefined;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  // Years before 100 are refused, as the general parser refuses them (Date.UTC reads them as 19xx).
  if (year < 100 || !monthDays || day < 1 || day > monthDays || hour > 23 || minute > 59 || second > 59) {
    return Number.NaN;
  }
  const ms = length > 19 ? Math.floor(fraction / 10 ** (length - 23)) : 0;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** [start, end) of a calendar day in `zone` (23 or 25 hours on DST days). */
export function dayRange(date: string, zone: string): { start: Date; end: Date } {
  const m = DATE.exec(date);
  if (!m) throw new RangeError(`not a date: ${date}`);
  const midnight = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return {
    start: new Date(wallClockToInstant(midnight, zone)),
    end: new Date(wallClockToInstant(midnight + 24 * HOUR, zone)),
  };
}

/** The calendar date (YYYY-MM-DD) of an instant in `zone`. */
export function localDate(at: Date, zone: string): string {
  return new Date(at.getTime() + offsetAt(zone, at.getTime())).toISOString().slice(0, 10);
}

/** An instant as the wall clock of `zone` shows it: `YYYY-MM-DD HH:MM:SS.mmm` (how MySQL writes DATETIME(3)). */
export function wallClock(at: Date, zone: string): string {
  return new Date(at.getTime() + offsetAt(zone, at.getTime())).toISOString().slice(0, 23).replace('T', ' ');
}
