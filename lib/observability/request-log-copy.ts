// Request log rows as COPY's text format has them, for the writer's COPY path (Node against a
// real server): one line a row, fields in COPY_LOGS' order, tab between them.
import type { RequestLogEntry } from './request-log-writer.ts';

/** The rows' COPY, its columns in copyText's order. */
export const COPY_LOGS =
  'copy request_logs (created_at, method, path, route, status, duration_ms, user_id, ip, request_id, error_code, error_message) from stdin';

/** What COPY's text format escapes in a field: backslash, newline, carriage return, tab. */
const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIALS = /[\\\n\r\t]/g;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeCopy = (c: string) => COPY_ESCAPES[c] as string;
const copyField = (value: string | null) =>
  value === null ? '\\N' : COPY_SPECIAL.test(value) ? value.replace(COPY_SPECIALS, escapeCopy) : value;

/** The second copyTime formatted last, and its text up to the seconds: a batch's rows share a few. */
let lastSecond = Number.NaN;
let lastSecondText = '';

/** An instant as ISO 8601 in UTC, as toISOString writes it, at a third of its cost. */
function copyTime(at: Date): string {
  const ms = at.getTime();
  if (!(ms >= 0 && ms < 253_402_300_800_000)) return at.toISOString(); // outside years 1970-9999
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastSecondText = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const fraction = ms - second * 1000;
  return `${lastSecondText}.${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z`;
}

export function copyText(batch: RequestLogEntry[]): string {
  let text = '';
  for (const e of batch) {
    text += `${copyTime(e.createdAt)}\t${copyField(e.method)}\t${copyField(e.path)}\t${copyField(e.route)}\t${e.status}\t${e.durationMs}\t${e.userId ?? '\\N'}\t${copyField(e.ip)}\t${copyField(e.requestId)}\t${copyField(e.errorCode)}\t${copyField(e.errorMessage)}\n`;
  }
  return text;
}
