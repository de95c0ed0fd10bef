import { GetObjectCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toApiError } from '../functions/errors.ts';
import { parseConfig } from '../lib/config.ts';
import { isDatabaseUnavailable, StorageUnavailableError } from '../lib/errors.ts';
import { createStorage, type Storage } from '../lib/storage.ts';
import { TEST_ENV } from './support/app.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

// A network failure on the way to object storage is storage's outage, not the database's: the
// same ECONNRESET once answered 503 "database is unavailable".
describe('storage network failures', () => {
  let s3: TestS3;
  let proxy: TcpProxy;
  let storage: Storage;

  beforeAll(async () => {
    s3 = await startTestS3();
    proxy = await startTcpProxy(s3.port);
    const config = parseConfig({ ...TEST_ENV, ...s3.env, S3_ENDPOINT: `http://127.0.0.1:${proxy.port}` });
    storage = createStorage(config.s3 as NonNullable<typeof config.s3>);
  });
  afterAll(async () => {
    await proxy?.close();
    await s3?.stop();
  });

  const failure = async (send: () => Promise<unknown>) => {
    try {
      await send();
    } catch (error) {
      return error;
    }
    throw new Error('storage answered');
  };

  it('a connection reset by the way to storage is a StorageUnavailableError: 503 STORAGE_UNAVAILABLE', async () => {
    proxy.setMode('refuse');
    try {
      const error = await failure(() => storage.client.send(new HeadBucketCommand({ Bucket: storage.bucket })));
      expect(error).toBeInstanceOf(StorageUnavailableError);
      expect((error as { cause?: { code?: string } }).cause?.code).toBe('ECONNRESET');
      expect(isDatabaseUnavailable(error)).toBe(false);
      const api = toApiError(error);
      expect({ status: api.status, code: api.code, message: api.message }).toEqual({
        status: 503,
        code: 'STORAGE_UNAVAILABLE',
        message: 'object storage is unavailable',
      });
    } finally {
      proxy.setMode('pass');
    }
  });

  it("storage's own refusals are left as they are (a missing object is not an outage)", async () => {
    const error = await failure(() =>
      storage.client.send(new GetObjectCommand({ Bucket: storage.bucket, Key: 'no/such/object' })),
    );
    expect(error).not.toBeInstanceOf(StorageUnavailableError);
    expect((error as Error).name).toBe('NoSuchKey');
  });

  it("the database's ECONNRESET is still the database's", () => {
    const error = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(toApiError(error)).toMatchObject({
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      message: 'database is unavailable',
    });
  });
});
