import { join, resolve } from 'node:path';
import type { Config } from '../lib/config.ts';
import { type DataDirLock, lockDataDir } from './data-dir-lock.ts';
import { EMBEDDED_S3_CREDENTIALS } from './embedded-s3.ts';
import { type RunningService, spawnEmbeddedPostgres, spawnEmbeddedS3 } from './services.ts';

export type LocalStack = {
  /** Variables that point the app at the stack's servers (merged over the environment). */
  env: Record<string, string>;
  databaseUrl: string;
  postgres: { embedded: boolean; dataDir?: string };
  s3: { embedded: boolean; endpoint: string; bucket: string; dataDir?: string } | null;
  stop(): Promise<void>;
};

/**
 * The servers behind `npm run dev` and `npm run dev:worker`: an embedded PGlite (served on
 * LOCAL_PG_PORT) unless DATABASE_URL is set, and the S3 emulator (on LOCAL_S3_PORT, bucket
 * created) unless S3_ENDPOINT is set. Each runs in a child process; onCrash fires if one dies.
 */
export async function startLocalStack(
  config: Config,
  options: { bucket: string; onCrash(what: string, code: number | null): void },
): Promise<LocalStack> {
  const dataDir = resolve(config.dataDir);
  const needsPostgres = !config.databaseUrl;
  const needsS3 = !config.s3;
  const lock: DataDirLock | undefined = needsPostgres || needsS3 ? lockDataDir(dataDir) : undefined;
  const running: RunningService[] = [];
  let stopping = false;
  const stop = async () => {
    stopping = true;
    // Reverse order of start; each child closes its data cleanly on SIGTERM.
    for (const service of running.reverse()) await service.stop();
    lock?.release();
  };

  try {
    const [postgres, s3] = await Promise.all([
      needsPostgres ? spawnEmbeddedPostgres({ dataDir: join(dataDir, 'pg'), port: config.localPgPort }) : undefined,
      needsS3
        ? spawnEmbeddedS3({ directory: join(dataDir, 's3'), port: config.localS3Port, bucket: options.bucket })
        : undefined,
    ]);
    for (const [what, service] of [
      ['embedded postgres', postgres],
      ['S3 emulator', s3],
    ] as const) {
      if (!service) continue;
      running.push(service);
      service.child.once('exit', (code) => {
        if (!stopping) options.onCrash(what, code);
      });
    }

    const databaseUrl = postgres?.url ?? (config.databaseUrl as string);
    const env: Record<string, string> = { DATABASE_URL: databaseUrl };
    if (s3) {
      Object.assign(env, {
        S3_ENDPOINT: s3.url,
        S3_BUCKET: options.bucket,
        S3_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
        S3_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      });
    }
    lock?.update({ databaseUrl, ...(s3 ? { s3Endpoint: s3.url, s3Bucket: options.bucket } : {}) });

    return {
      env,
      databaseUrl,
      postgres: postgres ? { embedded: true, dataDir: join(dataDir, 'pg') } : { embedded: false },
      s3: s3
        ? { embedded: true, endpoint: s3.url, bucket: options.bucket, dataDir: join(dataDir, 's3') }
        : config.s3
          ? { embedded: false, endpoint: config.s3.endpoint ?? '(AWS default)', bucket: config.s3.bucket }
          : null,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A psql-ready form of a URL (the embedded server speaks no TLS). */
export function psqlUrl(databaseUrl: string): string {
  const u = new URL(databaseUrl);
  if (u.hostname === '127.0.0.1' || u.hostname === 'localhost') u.searchParams.set('sslmode', 'disable');
  u.password = '';
  return u.toString();
}
