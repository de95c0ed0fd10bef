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

  it('reads MySQL’s layout (the fast path) exactly as the general parser reads the same time', () => {
    const zones = ['UTC', 'Asia/Kolkata', 'Europe/London', 'America/New_York'];
    const times = [
      '2026-11-20 09:00:00',
      '2026-11-20 09:00:00.5',
      '2026-11-20 09:00:00.25',
      '2026-11-20 09:00:00.123456',
      '2024-02-29 23:59:59.999',
      '2026-10-25 01:30:00',
      '2026-03-29 01:30:00',
      '1999-12-31 00:00:00',
    ];
    for (const zone of zones) {
      for (const time of times) {
        // A leading space sends the same text through the general parser (it trims).
        expect(iso(time, zone), `${time} ${zone}`).toBe(iso(` ${time.replace(' ', 'T')}`, zone));
        expect(iso(time, zone), `${time} ${zone}`).toBeDefined();
      }
    }
    expect(iso('2026-11-20 09:00:00.123456', 'UTC')).toBe('2026-11-20T09:00:00.123Z');
    expect(iso('2026-11-20 09:00:00.5', 'Asia/Kolkata')).toBe('2026-11-20T03:30:00.500Z');
  });

  it('refuses what is not a real date and time', () => {
    for (const bad of [
      '2026-02-30 10:00:00',
      '2026-11-20 24:00:00',
      '2026-11-20',
      'yesterday',
      '0000-00-00 00:00:00',
      '0099-01-01 00:00:00',
      '2025-02-29 10:00:00',
      '2026-04-31 10:00:00',
      '2026-11-20 10:60:00',
      '2026-11-20 10:00:60',
      '2026-13-01 10:00:00',
      '2026-11-20 1a:00:00',
      '2026-11-20 10:00:00.',
      '2026-11-20 10:00:00.1234567',
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
