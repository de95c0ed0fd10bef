import { describe, expect, it } from 'vitest';
import { COPY_HEADER, COPY_TRAILER, copyBinary, storableUserId } from './request-log-copy.ts';
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

/** A row read back field by field as the binary format lays it out: [length, bytes] (null for -1). */
function fields(row: Buffer): (Buffer | null)[] {
  const count = row.readInt16BE(0);
  const out: (Buffer | null)[] = [];
  let at = 2;
  for (let i = 0; i < count; i++) {
    const length = row.readInt32BE(at);
    at += 4;
    out.push(length === -1 ? null : row.subarray(at, at + length));
    if (length > 0) at += length;
  }
  expect(at).toBe(row.length);
  return out;
}

describe('copyBinary', () => {
  it('starts with the signature, no flags and no extension, and ends with a field count of -1', () => {
    expect(COPY_HEADER.toString('hex')).toBe('5047434f50590aff0d0a00' + '00000000' + '00000000');
    expect(COPY_TRAILER.readInt16BE(0)).toBe(-1);
  });

  it('lays out the eleven fields: microseconds since 2000, UTF-8 text, int2, float4, uuid bytes and NULLs', () => {
    const row = copyBinary([
      entry(new Date('2000-01-01T00:00:00.001Z'), {
        path: '/api/é😀',
        status: 503,
        durationMs: 1.5,
        userId: '6cf763a0-9379-4ec8-a7d3-c4d8ec653fda',
        errorMessage: 'tab\there',
      }),
    ]);
    const [time, method, path, route, status, duration, user, ip, requestId, errorCode, errorMessage] = fields(row);
    expect(time?.readBigInt64BE(0)).toBe(1000n);
    expect(method?.toString()).toBe('GET');
    expect(path?.toString()).toBe('/api/é😀');
    expect(path?.length).toBe(5 + 2 + 4);
    expect(route).toBeNull();
    expect(status?.readInt16BE(0)).toBe(503);
    expect(duration?.readFloatBE(0)).toBe(1.5);
    expect(user?.toString('hex')).toBe('6cf763a093794ec8a7d3c4d8ec653fda');
    expect([ip, requestId, errorCode]).toEqual([null, null, null]);
    expect(errorMessage?.toString()).toBe('tab\there');
  });

  it('writes times before 2000 and past the exact range of a double as PostgreSQL counts them', () => {
    const micros = (iso: string) => fields(copyBinary([entry(new Date(iso))]))[0]?.readBigInt64BE(0);
    expect(micros('1999-12-31T23:59:59.999Z')).toBe(-1000n);
    expect(micros('1970-01-01T00:00:00.000Z')).toBe(-946_684_800_000_000n);
    const far = new Date('2300-06-01T12:00:00.123Z');
    expect(micros(far.toISOString())).toBe(BigInt(far.getTime() - 946_684_800_000) * 1000n);
    expect(() => copyBinary([entry(new Date(Number.NaN))])).toThrow(RangeError);
  });
});

describe('storableUserId', () => {
  it('keeps a UUID (any case, hyphens optional) and drops what the uuid column would refuse', () => {
    expect(storableUserId('6CF763A0-9379-4ec8-a7d3-c4d8ec653fda')).toBe('6CF763A0-9379-4ec8-a7d3-c4d8ec653fda');
    expect(storableUserId('6cf763a093794ec8a7d3c4d8ec653fda')).toBe('6cf763a093794ec8a7d3c4d8ec653fda');
    expect(storableUserId('not-a-uuid')).toBeNull();
    expect(storableUserId('6cf763a0-9379-4ec8-a7d3-c4d8ec653fd')).toBeNull();
    expect(storableUserId(null)).toBeNull();
  });
});
