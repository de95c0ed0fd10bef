import { describe, expect, it } from 'vitest';
import { inRanges, normalizeAddress, parseRange, resolveClientIp } from './net.ts';

const ranges = (...texts: string[]) => texts.map((t) => parseRange(t)).filter((r) => r !== null);

describe('client IP resolution', () => {
  const trusted = ranges('127.0.0.1', '10.0.0.0/8', '::1');

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(resolveClientIp('203.0.113.9', '1.2.3.4', trusted)).toBe('203.0.113.9');
  });

  it('takes the nearest untrusted hop when the peer is a trusted proxy', () => {
    expect(resolveClientIp('127.0.0.1', '198.51.100.7', trusted)).toBe('198.51.100.7');
    // A client-forged first entry is skipped: the proxy appended the real address last.
    expect(resolveClientIp('127.0.0.1', '6.6.6.6, 198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(resolveClientIp('127.0.0.1', '198.51.100.7, 10.1.2.3', trusted)).toBe('198.51.100.7');
  });

  it('falls back to the peer when X-Forwarded-For is garbage', () => {
    expect(resolveClientIp('127.0.0.1', 'not-an-ip', trusted)).toBe('127.0.0.1');
  });

  it('treats IPv4-mapped IPv6 peers as IPv4', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(resolveClientIp('::ffff:127.0.0.1', '192.0.2.1', trusted)).toBe('192.0.2.1');
  });

  it('matches CIDR ranges for both families and rejects malformed ranges', () => {
    expect(inRanges('10.200.3.4', ranges('10.0.0.0/8'))).toBe(true);
    expect(inRanges('11.0.0.1', ranges('10.0.0.0/8'))).toBe(false);
    expect(inRanges('2001:db8::1', ranges('2001:db8::/32'))).toBe(true);
    expect(inRanges('2001:db9::1', ranges('2001:db8::/32'))).toBe(false);
    expect(parseRange('10.0.0.0/33')).toBeNull();
    expect(parseRange('300.1.1.1')).toBeNull();
  });
});
