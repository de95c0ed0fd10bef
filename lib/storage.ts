import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';

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
  return { client, bucket: config.bucket, publicUrl: config.publicUrl };
}

/** Throws unless the bucket answers. */
export async function pingStorage(storage: Storage, signal?: AbortSignal): Promise<void> {
  await storage.client.send(new HeadBucketCommand({ Bucket: storage.bucket }), { abortSignal: signal });
}
