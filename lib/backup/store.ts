import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Storage } from '../storage.ts';
import type { Bytes } from './codec.ts';

/** An object of a backup is missing, or storage refused to hand it over. */
export class BackupObjectError extends Error {
  override name = 'BackupObjectError';
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(`${key}: ${message}`, options);
    this.key = key;
  }
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(error) === 404;
}

/** An upload's first buffer: doubled as bytes come, up to the part size. */
const FIRST_BUFFER_BYTES = 256 * 1024;

/**
 * Streams bytes to one object: a single PUT when they fit in one part, else a multipart upload.
 * The bytes are copied into part-sized buffers, two used in turn: one part is sent while the next
 * fills (the database is read while storage receives), so an upload holds two parts whatever the
 * object's size (the SDK's Upload helper gathered each part's chunks and concatenated them into a
 * new buffer, holding two to three parts at once and more garbage). A failed multipart upload is
 * aborted (when storage still answers; prune aborts what is left over).
 */
export async function uploadObject(
  storage: Storage,
  key: string,
  body: Bytes,
  options: { partSize: number; contentType: string; signal?: AbortSignal },
): Promise<{ parts: number }> {
  const { signal } = options;
  const target = { Bucket: storage.bucket, Key: key };
  // Grown as bytes come: the many small tables of a backup need no full part each.
  let part = new Uint8Array(Math.min(options.partSize, FIRST_BUFFER_BYTES));
  let filled = 0;
  // The other buffer, and the send reading it: free again once that send has finished.
  let spare: Uint8Array<ArrayBuffer> | undefined;
  let inFlight: Promise<void> | undefined;
  let uploadId: string | undefined;
  const stored: { PartNumber: number; ETag: string }[] = [];

  const sendPart = async (bytes: Uint8Array) => {
    if (!uploadId) {
      const created = await storage.client.send(
        new CreateMultipartUploadCommand({ ...target, ContentType: options.contentType }),
        { abortSignal: signal },
      );
      if (!created.UploadId) throw new Error(`${key}: storage started a multipart upload without an upload id`);
      uploadId = created.UploadId;
    }
    const PartNumber = stored.length + 1;
    const out = await storage.client.send(
      new UploadPartCommand({
        ...target,
        UploadId: uploadId,
        PartNumber,
        Body: bytes,
        ContentLength: bytes.byteLength,
      }),
      { abortSignal: signal },
    );
    if (!out.ETag) throw new Error(`${key}: storage returned no ETag for part ${PartNumber}`);
    stored.push({ PartNumber, ETag: out.ETag });
  };
  /** Waits for the part in flight (parts go up one at a time, in order). */
  const settle = async () => {
    const sending = inFlight;
    inFlight = undefined;
    await sending;
  };

  try {
    for await (const chunk of body) {
      signal?.throwIfAborted();
      for (let offset = 0; offset < chunk.byteLength; ) {
        // A full buffer goes up only once more bytes follow: the last part may be a full one.
        if (filled === part.byteLength && part.byteLength < options.partSize) {
          const grown = new Uint8Array(Math.min(options.partSize, part.byteLength * 2));
          grown.set(part);
          part = grown;
        } else if (filled === part.byteLength) {
          await settle();
          inFlight = sendPart(part);
          inFlight.catch(() => {}); // awaited by settle(); never an unhandled rejection meanwhile
          [part, spare] = [spare ?? new Uint8Array(options.partSize), part];
          filled = 0;
        }
        const n = Math.min(chunk.byteLength - offset, part.byteLength - filled);
        part.set(chunk.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
      }
    }
    signal?.throwIfAborted();
    await settle();
    if (!uploadId) {
      await storage.client.send(
        new PutObjectCommand({
          ...target,
          Body: part.subarray(0, filled),
          ContentLength: filled,
          ContentType: options.contentType,
        }),
        { abortSignal: signal },
      );
      return { parts: 1 };
    }
    await sendPart(part.subarray(0, filled));
    await storage.client.send(
      new CompleteMultipartUploadCommand({ ...target, UploadId: uploadId, MultipartUpload: { Parts: stored } }),
      { abortSignal: signal },
    );
    return { parts: stored.length };
  } catch (error) {
    await inFlight?.catch(() => undefined); // a part still going up would outlive the abort
    if (uploadId) await abortUpload(storage, key, uploadId).catch(() => undefined);
    throw error;
  }
}

export async function putJson(storage: Storage, key: string, value: unknown, signal?: AbortSignal): Promise<void> {
  await storage.client.send(
    new PutObjectCommand({
      Bucket: storage.bucket,
      Key: key,
      Body: JSON.stringify(value, null, 2),
      ContentType: 'application/json',
    }),
    { abortSignal: signal },
  );
}

/** The object's JSON, or undefined when it does not exist. */
export async function getJson(storage: Storage, key: string, signal?: AbortSignal): Promise<unknown | undefined> {
  try {
    const out = await storage.client.send(new GetObjectCommand({ Bucket: storage.bucket, Key: key }), {
      abortSignal: signal,
    });
    return JSON.parse((await out.Body?.transformToString('utf8')) ?? 'null');
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** The object's bytes as a stream; a missing object is a BackupObjectError naming it. */
export async function readObject(storage: Storage, key: string, signal?: AbortSignal): Promise<Bytes> {
  try {
    const out = await storage.client.send(new GetObjectCommand({ Bucket: storage.bucket, Key: key }), {
      abortSignal: signal,
    });
    const body = out.Body as unknown as { transformToWebStream(): ReadableStream<Uint8Array> } | undefined;
    if (!body) throw new BackupObjectError(key, 'storage returned no body');
    return streamBytes(body.transformToWebStream());
  } catch (error) {
    if (isNotFound(error)) throw new BackupObjectError(key, 'missing from storage', { cause: error });
    throw error;
  }
}

async function* streamBytes(stream: ReadableStream<Uint8Array>): Bytes {
  const reader = stream.getReader();
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    reader.releaseLock();
    await stream.cancel().catch(() => undefined);
  }
}

/** Size and ETag, or undefined when the object does not exist. */
export async function headObject(
  storage: Storage,
  key: string,
  signal?: AbortSignal,
): Promise<{ bytes: number; etag: string | undefined } | undefined> {
  try {
    const out = await storage.client.send(new HeadObjectCommand({ Bucket: storage.bucket, Key: key }), {
      abortSignal: signal,
    });
    return { bytes: out.ContentLength ?? 0, etag: out.ETag };
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Server-side copy within the bucket (no bytes pass through this process). */
export async function copyObject(storage: Storage, from: string, to: string, signal?: AbortSignal): Promise<void> {
  await storage.client.send(
    new CopyObjectCommand({
      Bucket: storage.bucket,
      Key: to,
      CopySource: `${storage.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
    }),
    { abortSignal: signal },
  );
}

export type ListedObject = { key: string; bytes: number; lastModified: Date };

/** Every object under a prefix, page by page. */
export async function* listObjects(
  storage: Storage,
  prefix: string,
  signal?: AbortSignal,
): AsyncGenerator<ListedObject> {
  let token: string | undefined;
  do {
    const page = await storage.client.send(
      new ListObjectsV2Command({ Bucket: storage.bucket, Prefix: prefix, ContinuationToken: token }),
      { abortSignal: signal },
    );
    for (const item of page.Contents ?? []) {
      if (item.Key) yield { key: item.Key, bytes: item.Size ?? 0, lastModified: item.LastModified ?? new Date(0) };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

export async function deleteObjects(storage: Storage, keys: string[], signal?: AbortSignal): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    const out = await storage.client.send(
      new DeleteObjectsCommand({ Bucket: storage.bucket, Delete: { Objects: batch.map((Key) => ({ Key })) } }),
      { abortSignal: signal },
    );
    const failed = out.Errors ?? [];
    if (failed.length > 0) {
      throw new Error(`could not delete ${failed.length} objects, e.g. ${failed[0]?.Key}: ${failed[0]?.Message}`);
    }
  }
}

/** Multipart uploads left open under a prefix (a backup that failed while storage was away). */
export async function listOpenUploads(
  storage: Storage,
  prefix: string,
  signal?: AbortSignal,
): Promise<{ key: string; uploadId: string; initiated: Date }[]> {
  const out = await storage.client.send(new ListMultipartUploadsCommand({ Bucket: storage.bucket, Prefix: prefix }), {
    abortSignal: signal,
  });
  return (out.Uploads ?? []).flatMap((u) =>
    u.Key && u.UploadId ? [{ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated ?? new Date(0) }] : [],
  );
}

export async function abortUpload(storage: Storage, key: string, uploadId: string, signal?: AbortSignal) {
  await storage.client.send(new AbortMultipartUploadCommand({ Bucket: storage.bucket, Key: key, UploadId: uploadId }), {
    abortSignal: signal,
  });
}

/** Aborts every multipart upload open under a prefix (one backup's); storage without the call is skipped. */
export async function abortOpenUploads(storage: Storage, prefix: string, signal?: AbortSignal): Promise<number> {
  const uploads = await openUploads(storage, prefix, signal);
  for (const upload of uploads) await abortUpload(storage, upload.key, upload.uploadId, signal);
  return uploads.length;
}

/** Open multipart uploads under a prefix; empty where the storage cannot list them. */
export async function openUploads(storage: Storage, prefix: string, signal?: AbortSignal) {
  try {
    return await listOpenUploads(storage, prefix, signal);
  } catch (error) {
    if ((error as { name?: string }).name === 'NotImplemented') return [];
    throw error;
  }
}
