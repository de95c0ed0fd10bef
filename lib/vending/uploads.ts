import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Upload } from '../../schema/database.ts';
import type { Db } from '../db/connection.ts';
import { DependencyUnavailableError, NotFoundError, UnsupportedMediaTypeError } from '../errors.ts';
import type { Storage } from '../storage.ts';
import { isUuid } from './sql.ts';
import { type Actor, findTask, seesAllTasks } from './tasks.ts';

/** Where upload objects live in the bucket; backups copy what the uploads table references. */
export const UPLOADS_PREFIX = 'uploads/';

type FileType = { contentType: string; extension: string };

const startsWith = (bytes: Uint8Array, signature: readonly number[], offset = 0) =>
  bytes.length >= offset + signature.length && signature.every((b, i) => bytes[offset + i] === b);
const ascii = (text: string) => Array.from(text, (ch) => ch.charCodeAt(0));

/**
 * The file's type from its first bytes (the accepted images and PDF), or null. The type a client
 * claims in its headers is never trusted: an executable renamed to photo.png is refused.
 */
export function detectFileType(bytes: Uint8Array): FileType | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) {
    return { contentType: 'image/png', extension: 'png' };
  }
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return { contentType: 'image/jpeg', extension: 'jpg' };
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) {
    return { contentType: 'image/gif', extension: 'gif' };
  }
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) {
    return { contentType: 'image/webp', extension: 'webp' };
  }
  if (startsWith(bytes, ascii('%PDF-'))) return { contentType: 'application/pdf', extension: 'pdf' };
  return null;
}

export const ACCEPTED_UPLOAD_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'application/pdf'];

export type UploadView = {
  id: string;
  taskId: string;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  originalName: string | null;
  uploadedBy: string | null;
  createdAt: string;
};

export function toUploadView(row: Upload): UploadView {
  return {
    id: row.id,
    taskId: row.task_id,
    contentType: row.content_type,
    sizeBytes: row.size_bytes,
    sha256: row.sha256,
    originalName: row.original_name,
    uploadedBy: row.uploaded_by,
    createdAt: row.created_at.toISOString(),
  };
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function requireStorage(storage: Storage | null): Storage {
  if (!storage) throw new DependencyUnavailableError('storage', 'object storage is not configured (S3_ENDPOINT)');
  return storage;
}

/**
 * Stores a file for a task the actor may see (an operator: their own), under uploads/<task>/.
 * The object is written first and the row second; if the row cannot be written the object is
 * removed again, so a row never points at nothing.
 */
export async function storeUpload(
  db: Db,
  storage: Storage | null,
  actor: Actor,
  input: { taskId: string; bytes: Uint8Array<ArrayBuffer>; originalName: string | null },
): Promise<UploadView> {
  const task = await findTask(db, actor, input.taskId);
  if (!task) throw new NotFoundError('task not found');
  const type = detectFileType(input.bytes);
  if (!type) {
    throw new UnsupportedMediaTypeError(
      `the file is not one of ${ACCEPTED_UPLOAD_TYPES.join(', ')} (judged by its content, not its name or header)`,
    );
  }
  const bucket = requireStorage(storage);
  const id = crypto.randomUUID();
  const key = `${UPLOADS_PREFIX}${task.id}/${id}.${type.extension}`;
  const sha256 = await sha256Hex(input.bytes);
  try {
    await bucket.client.send(
      new PutObjectCommand({
        Bucket: bucket.bucket,
        Key: key,
        Body: input.bytes,
        ContentType: type.contentType,
        ContentLength: input.bytes.byteLength,
      }),
    );
  } catch (error) {
    throw new DependencyUnavailableError('storage', `could not store the upload: ${(error as Error).message}`);
  }
  try {
    const row = await db
      .insertInto('uploads')
      .values({
        id,
        task_id: task.id,
        object_key: key,
        content_type: type.contentType,
        size_bytes: input.bytes.byteLength,
        sha256,
        original_name: input.originalName,
        uploaded_by: actor.userId,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toUploadView(row);
  } catch (error) {
    await bucket.client.send(new DeleteObjectCommand({ Bucket: bucket.bucket, Key: key })).catch(() => {});
    throw error;
  }
}

/** The upload if it belongs to a task the actor may see. */
export async function findUpload(db: Db, actor: Actor, id: string): Promise<Upload | undefined> {
  if (!isUuid(id)) return undefined;
  let query = db
    .selectFrom('uploads as up')
    .innerJoin('tasks as t', 't.id', 'up.task_id')
    .selectAll('up')
    .where('up.id', '=', id);
  if (!seesAllTasks(actor)) query = query.where('t.assigned_to', '=', actor.userId);
  return query.executeTakeFirst();
}

export async function listTaskUploads(db: Db, taskId: string): Promise<UploadView[]> {
  const rows = await db
    .selectFrom('uploads')
    .selectAll()
    .where('task_id', '=', taskId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toUploadView);
}

/** A GET URL for the object, signed for ttlSeconds, served with the detected type. */
export async function signedDownloadUrl(storage: Storage | null, upload: Upload, ttlSeconds: number): Promise<string> {
  const bucket = requireStorage(storage);
  const filename = (upload.original_name ?? upload.object_key.split('/').at(-1) ?? 'file').replace(/[^\w.-]+/g, '_');
  return getSignedUrl(
    bucket.client,
    new GetObjectCommand({
      Bucket: bucket.bucket,
      Key: upload.object_key,
      ResponseContentType: upload.content_type,
      ResponseContentDisposition: `inline; filename="${filename}"`,
    }),
    { expiresIn: ttlSeconds },
  );
}
