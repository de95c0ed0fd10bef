import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bytes } from '../lib/backup/codec.ts';
import { listOpenUploads, readObject, uploadObject } from '../lib/backup/store.ts';
import type { Storage } from '../lib/storage.ts';
import { storageFor } from './support/backup.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';

/** S3's minimum part size, the smallest a multipart upload can use. */
const PART = 5 * 1024 * 1024;

/** `bytes` cut into chunks of uneven sizes, as gzip and COPY hand them over. */
async function* unevenChunks(bytes: Uint8Array): Bytes {
  const sizes = [1, 65_536, 7, 1_000_003, 16_384];
  for (let at = 0, i = 0; at < bytes.byteLength; i++) {
    const size = sizes[i % sizes.length] as number;
    yield bytes.subarray(at, at + size);
    at += size;
  }
}

async function sha256Of(source: Bytes): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of source) hash.update(chunk);
  return hash.digest('hex');
}

describe('uploadObject', () => {
  let s3: TestS3;
  let storage: Storage;

  beforeAll(async () => {
    s3 = await startTestS3();
    storage = storageFor(s3);
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it.each([
    ['nothing', 0, 1],
    ['one byte', 1, 1],
    ['exactly one part, as a single PUT', PART, 1],
    ['one byte over a part', PART + 1, 2],
    ['exactly two parts', 2 * PART, 2],
    ['two and a half parts', 2.5 * PART, 3],
  ])('stores %s intact in the expected number of parts', async (_, size, parts) => {
    const bytes = randomBytes(size);
    const key = `upload-test/${size}`;
    const stored = await uploadObject(storage, key, unevenChunks(bytes), {
      partSize: PART,
      contentType: 'application/octet-stream',
    });
    expect(stored.parts).toBe(parts);
    expect(await sha256Of(await readObject(storage, key))).toBe(createHash('sha256').update(bytes).digest('hex'));
  });

  it('a source that fails half way aborts the multipart upload and stores nothing', async () => {
    const key = 'upload-test/failing';
    async function* failing(): Bytes {
      yield randomBytes(PART + 1024);
      throw new Error('source broke');
    }
    await expect(
      uploadObject(storage, key, failing(), { partSize: PART, contentType: 'application/octet-stream' }),
    ).rejects.toThrow('source broke');
    expect(await listOpenUploads(storage, 'upload-test/')).toEqual([]);
    await expect(readObject(storage, key)).rejects.toThrow('missing from storage');
  });
});
