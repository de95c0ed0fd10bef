/** Client addresses and trusted-proxy matching (IPv4, IPv6, CIDR ranges), runtime-agnostic. */

export type AddressRange = { version: 4 | 6; base: bigint; bits: number };

function parseIPv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIPv6(text: string): bigint | null {
  let input = text;
  // ::ffff:1.2.3.4 form
  const v4Tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(input);
  if (v4Tail?.[1]) {
    const v4 = parseIPv4(v4Tail[1]);
    if (v4 === null) return null;
    input = `${input.slice(0, -v4Tail[1].length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = input.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null;
    value = (value << 16n) | BigInt(`0x${group}`);
  }
  return value;
}

/** Parses an address; IPv4-mapped IPv6 (::ffff:a.b.c.d) is treated as the IPv4 address. */
export function parseAddress(text: string): { version: 4 | 6; value: bigint } | null {
  const trimmed = text.trim().replace(/^\[|\]$/g, '');
  const v4 = parseIPv4(trimmed);
  if (v4 !== null) return { version: 4, value: v4 };
  const v6 = parseIPv6(trimmed.replace(/%.*$/, ''));
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { version: 4, value: v6 & 0xffffffffn };
  return { version: 6, value: v6 };
}

/** "10.0.0.0/8", "::1", "127.0.0.1" -> a range; null when malformed. */
export function parseRange(text: string): AddressRange | null {
  const [address, prefix] = text.trim().split('/');
  const parsed = address ? parseAddress(address) : null;
  if (!parsed) return null;
  const max = parsed.version === 4 ? 32 : 128;
  const bits = prefix === undefined ? max : Number(prefix);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return null;
  return { version: parsed.version, base: parsed.value >> BigInt(max - bits), bits };
}

export function inRanges(address: string, ranges: readonly AddressRange[]): boolean {
  const parsed = parseAddress(address);
  if (!parsed) return false;
  const max = parsed.version === 4 ? 32 : 128;
  return ranges.some((r) => r.version === parsed.version && parsed.value >> BigInt(max - r.bits) === r.base);
}

/**
 * The client's address. X-Forwarded-For is believed only when the peer is a trusted proxy, and
 * then only up to the first hop (from the right) that is not itself trusted.
 */
export function resolveClientIp(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trusted: readonly AddressRange[],
): string {
  // Hot path (no proxy header): plain string work, no parsing.
  if (!forwardedFor)
    return peer ? (peer.startsWith('::ffff:') && peer.includes('.') ? peer.slice(7) : peer) : 'unknown';
  const direct = normalizeAddress(peer) ?? 'unknown';
  if (!peer || !inRanges(peer, trusted)) return direct;
  const hops = forwardedFor
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i]);
    if (!hop) return direct;
    if (!inRanges(hop, trusted) || i === 0) return hop;
  }
  return direct;
}

/** Canonical text for an address ("::ffff:1.2.3.4" -> "1.2.3.4"); null when not an address. */
export function normalizeAddress(text: string | undefined): string | null {
  if (!text) return null;
  const parsed = parseAddress(text);
  if (!parsed) return null;
  if (parsed.version === 4) {
    const v = parsed.value;
    return [v >> 24n, (v >> 16n) & 255n, (v >> 8n) & 255n, v & 255n].join('.');
  }
  return text
    .trim()
    .replace(/^\[|\]$/g, '')
    .toLowerCase();
}
