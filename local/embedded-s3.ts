import { mkdirSync } from 'node:fs';
import S3rver from 's3rver';
import { multipartExtensions } from './s3rver-multipart.ts';

export type EmbeddedS3 = { endpoint: string; port: number; bucket: string; stop(): Promise<void> };

/** The emulator accepts any credentials; these are what the local stack hands the app. */
export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * s3rver on a loopback port with the bucket created, objects kept in a directory. The process
 * must run with --openssl-legacy-provider (ListObjectsV2 continuation tokens use a legacy cipher);
 * spawnEmbeddedS3 in local/services.ts arranges that.
 */
export async function startEmbeddedS3(options: {
  directory: string;
  port: number;
  bucket: string;
  host?: string;
}): Promise<EmbeddedS3> {
  const host = options.host ?? '127.0.0.1';
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: host,
    port: options.port,
    directory: options.directory,
    silent: true,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  // Before s3rver's router (after its request logger): AbortMultipartUpload and ListMultipartUploads.
  server.middleware.splice(1, 0, multipartExtensions(options.directory));
  let info: { port: number };
  try {
    info = (await server.run()) as unknown as { port: number };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`port ${options.port} on ${host} is already in use: set LOCAL_S3_PORT to a free port`);
    }
    throw error;
  }
  return {
    endpoint: `http://${host}:${info.port}`,
    port: info.port,
    bucket: options.bucket,
    stop: () => server.close(),
  };
}
