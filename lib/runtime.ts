import pkg from '../package.json' with { type: 'json' };

export type RuntimeName = 'node' | 'workerd';

export const APP_VERSION: string = pkg.version;

/** Which runtime this code is executing on. */
export function detectRuntime(): RuntimeName {
  return typeof navigator !== 'undefined' && navigator.userAgent === 'Cloudflare-Workers' ? 'workerd' : 'node';
}

/** Rejects with a TimeoutError when the promise takes longer than ms. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}
