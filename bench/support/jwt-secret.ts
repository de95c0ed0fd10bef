import { randomBytes } from 'node:crypto';

/** JWT_SECRET is required to start the bundle; scratch servers get a throwaway one unless the shell sets it. */
export function jwtSecretForScratch(): string {
  return process.env.JWT_SECRET || randomBytes(32).toString('base64url');
}
