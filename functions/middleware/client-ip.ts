import type { MiddlewareHandler } from 'hono';
import { resolveClientIp } from '../../lib/net.ts';
import type { AppEnv } from '../context.ts';

/**
 * Sets the clientIp variable. On Workers, Cloudflare's edge sets CF-Connecting-IP. On Node the peer is
 * the TCP socket, and X-Forwarded-For counts only when that peer is in TRUSTED_PROXIES.
 */
export function clientIp(): MiddlewareHandler<AppEnv> {
  return async function clientIp(c, next) {
    const { runtime, config } = c.get('services');
    if (runtime === 'workerd') {
      c.set('clientIp', c.req.header('cf-connecting-ip') ?? 'unknown');
    } else {
      const peer: string | undefined = c.env?.incoming?.socket?.remoteAddress;
      c.set('clientIp', resolveClientIp(peer, c.req.header('x-forwarded-for'), config.trustedProxies));
    }
    await next();
  };
}
