import { rmSync } from 'node:fs';
import { EMBEDDED_S3_CREDENTIALS } from '../../local/embedded-s3.ts';
import { spawnEmbeddedS3 } from '../../local/services.ts';
import { scratchDir } from './paths.ts';

export type TestS3 = {
  endpoint: string;
  port: number;
  bucket: string;
  env: Record<string, string>;
  stop(): Promise<void>;
};

/** The S3 emulator in a child process with its own directory and a free port. */
export async function startTestS3(bucket = 'opsbase-test'): Promise<TestS3> {
  const directory = scratchDir('s3');
  const service = await spawnEmbeddedS3({ directory, port: 0, bucket });
  return {
    endpoint: service.url,
    port: service.port,
    bucket,
    env: {
      S3_ENDPOINT: service.url,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: EMBEDDED_S3_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: EMBEDDED_S3_CREDENTIALS.secretAccessKey,
    },
    async stop() {
      await service.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
