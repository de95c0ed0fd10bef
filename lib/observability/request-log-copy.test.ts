import { describe, expect, it } from 'vitest';
import { copyText } from './request-log-copy.ts';
import type { RequestLogEntry } from './request-log-writer.ts';

const entry = (createdAt: Date, overrides: Partial<RequestLogEntry> = {}): RequestLogEntry => ({
  createdAt,
  method: 'GET',
  path: '/api/x',
  route: null,
  status: 200,
  durationMs: 1.25,
  userId: null,
  ip: null,
  requestId: null,
  errorCode: null,
  errorMessage: null,
  ...overrides,
});

const times = (dates: Date[]) =>
  copyText(dates.map((d) => entry(d)))
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t')[0]);

describe('copyText', () => {
  it('writes each time as toISOString does, within a second, across seconds and outside 1970-9999', () => {
    const dates = [
      new Date('2026-11-28T03:04:05.007Z'),
      new Date('2026-11-28T03:04:05.070Z'),
      new Date('2026-11-28T03:04:05.999Z'),
      new Date('2026-11-28T03:04:06.000Z'),
      new Date('2026-11-28T03:04:05.100Z'), // back to a second seen before
      new Date('1969-12-31T23:59:59.999Z'),
      new Date('+010000-01-01T00:00:00.001Z'),
    ];
    expect(times(dates)).toEqual(dates.map((d) => d.toISOString()));
  });

  it('escapes what COPY text reads specially, writes NULL as \\N, and keeps eleven fields a row', () => {
    const text = copyText([
      entry(new Date('2026-11-28T00:00:00Z'), {
        path: 'a\tb\nc\rd\\e \\N',
        requestId: '\\.',
        userId: '6cf763a0-9379-4ec8-a7d3-c4d8ec653fda',
        status: 503,
      }),
    ]);
    expect(text).toBe(
      '2026-11-28T00:00:00.000Z\tGET\ta\\tb\\nc\\rd\\\\e \\\\N\t\\N\t503\t1.25\t6cf763a0-9379-4ec8-a7d3-c4d8ec653fda\t\\N\t\\\\.\t\\N\t\\N\n',
    );
  });
});
