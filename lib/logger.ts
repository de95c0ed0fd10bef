import type { Config } from './config.ts';
import { redactSecrets } from './observability/redact.ts';

export type LogLevel = Config['logLevel'];
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  isEnabled(level: LogLevel): boolean;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured JSON lines on stdout (stderr for warn/error); one object per event. */
export function createLogger(
  level: LogLevel,
  base: LogFields = {},
  sink: (level: LogLevel, line: string) => void = defaultSink,
): Logger {
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < min) return;
    sink(lvl, JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...base, ...serializeFields(fields) }));
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger(level, { ...base, ...fields }, sink),
    isEnabled: (lvl) => RANK[lvl] >= min,
  };
}

function defaultSink(level: LogLevel, line: string) {
  if (level === 'warn' || level === 'error') console.error(line);
  else console.log(line);
}

function serializeFields(fields: LogFields | undefined): LogFields | undefined {
  if (!fields) return fields;
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    // Exception text can carry what a caller passed in (URLs with passwords, tokens): masked.
    out[key] =
      value instanceof Error
        ? { name: value.name, message: redactSecrets(value.message), stack: value.stack && redactSecrets(value.stack) }
        : value;
  }
  return out;
}
