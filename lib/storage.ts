import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';
import { NETWORK_CODES, StorageUnavailableError } from './errors.ts';

export type StorageConfig = NonNullable<Config['s3']>;

export type Storage = {
  client: S3Client;
  bucket: string;
  publicUrl: string | undefined;
};

/**
 * One S3 client for R2, MinIO, AWS and the local emulator. Checksums only when the operation
 * requires them: R2, MinIO and the emulator reject or mangle the SDK's default streaming
 * checksum trailers.
 */
export function createStorage(config: StorageConfig): Storage {
  const client = new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials:
      config.accessKeyId && config.secretAccessKey
        ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
        : undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        throw isNetworkFailure(error)
          ? new StorageUnavailableError(describeNetworkFailure(error), { cause: error })
          : error;
      }
    },
    { step: 'initialize', name: 'opsbaseStorageUnavailable' },
  );
  return { client, bucket: config.bucket, publicUrl: config.publicUrl };
}

/** Throws unless the bucket answers. */
export async function pingStorage(storage: Storage, signal?: AbortSignal): Promise<void> {
  await storage.client.send(new HeadBucketCommand({ Bucket: storage.bucket }), { abortSignal: signal });
}

/**
 * A request that never got an answer from storage (refused, reset, timed out, DNS): Node's socket
 * codes, and the fetch errors Workers raise. S3's own refusals (403, 404, ...) are not.
 */
function isNetworkFailure(error: unknown): boolean {
  if (!(error instanceof Error) || error.name === 'AbortError') return false;
  if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return (
    error.name === 'TimeoutError' ||
    /socket hang up|ECONNRESET|ECONNREFUSED|Network connection lost|fetch failed|network error/i.test(error.message)
  );
}

function describeNetworkFailure(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  return `object storage is unreachable: ${message}${typeof code === 'string' && !message.includes(code) ? ` (${code})` : ''}`;
}
