import { describe, expect, it } from 'vitest';
import { dayRange, isTimeZone, localDate, parseTimestamp } from './time-zone.ts';

const iso = (value: string, zone: string) => parseTimestamp(value, zone)?.toISOString();

describe('device wall-clock times to instants', () => {
  it('uses the zone’s offset, with or without DST', () => {
    expect(iso('2026-11-20 09:00:00', 'Asia/Kolkata')).toBe('2026-11-20T03:30:00.000Z');
    expect(iso('2026-07-01 09:00:00', 'Europe/London')).toBe('2026-07-01T08:00:00.000Z');
    expect(iso('2026-12-01 09:00:00', 'Europe/London')).toBe('2026-12-01T09:00:00.000Z');
    expect(iso('2026-11-20 09:00:00', 'UTC')).toBe('2026-11-20T09:00:00.000Z');
  });

  it('takes the first of a repeated hour and moves a skipped time forward by the gap', () => {
    // London falls back on 2026-10-25 at 02:00 BST; springs forward on 2026-03-29 at 01:00 GMT.
    expect(iso('2026-10-25 01:30:00', 'Europe/London')).toBe('2026-10-25T00:30:00.000Z');
    expect(iso('2026-03-29 01:30:00', 'Europe/London')).toBe('2026-03-29T01:30:00.000Z');
    // Lord Howe Island moves its clocks by 30 minutes.
    expect(iso('2026-10-04 02:15:00', 'Australia/Lord_Howe')).toBe('2026-10-03T15:45:00.000Z');
  });

  it('takes a time with an offset as it is, in any of the usual spellings', () => {
    expect(iso('2026-11-01T01:30:00-05:00', 'America/New_York')).toBe('2026-11-01T06:30:00.000Z');
    expect(iso('2026-11-01 01:30:00+0530', 'UTC')).toBe('2026-10-31T20:00:00.000Z');
    expect(iso('2026-11-01T01:30:00.25Z', 'Asia/Kolkata')).toBe('2026-11-01T01:30:00.250Z');
  });

  it('refuses what is not a real date and time', () => {
    for (const bad of [
      '2026-02-30 10:00:00',
      '2026-11-20 24:00:00',
      '2026-11-20',
      'yesterday',
      '0000-00-00 00:00:00',
      '',
    ]) {
      expect(parseTimestamp(bad, 'UTC'), bad).toBeUndefined();
    }
  });

  it('a local day is 23 or 25 hours on DST days', () => {
    const hours = (date: string) => {
      const { start, end } = dayRange(date, 'America/New_York');
      return (end.getTime() - start.getTime()) / 3_600_000;
    };
    expect(hours('2026-03-08')).toBe(23);
    expect(hours('2026-11-01')).toBe(25);
    expect(hours('2026-11-02')).toBe(24);
    expect(localDate(new Date('2026-11-21T04:30:00Z'), 'America/New_York')).toBe('2026-11-20');
  });

  it('knows IANA zones from typos', () => {
    expect(isTimeZone('Asia/Kolkata')).toBe(true);
    expect(isTimeZone('Asia/Kolkatta')).toBe(false);
  });
});
