import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** The slice of Koa's context the middleware reads and writes. */
type KoaContext = {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
};
export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

const escapeXml = (value: string) =>
  value.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);

/**
 * s3rver 3.7.1 stores multipart uploads but answers AbortMultipartUpload with 405 and
 * ListMultipartUploads with NotImplemented. Real S3, R2 and MinIO have both, and backups rely on
 * them to clean up an upload that failed half way, so the emulator gets them here (same wire
 * format as S3). Uploads live in <directory>/<bucket>/._S3rver_uploads/<uploadId>/ with a `key` file.
 */
export function multipartExtensions(directory: string): KoaMiddleware {
  const uploadsDir = (bucket: string) => join(directory, bucket, '._S3rver_uploads');
  return async (ctx, next) => {
    const [, bucket, ...keyParts] = ctx.path.split('/');
    if (!bucket || !/^[a-z0-9][a-z0-9.-]+$/.test(bucket)) return next();
    const uploadId = typeof ctx.query.uploadId === 'string' ? ctx.query.uploadId : undefined;
    if (ctx.method === 'DELETE' && uploadId && keyParts.length > 0) {
      if (!/^[0-9a-f]+$/.test(uploadId)) return next();
      const dir = join(uploadsDir(bucket), uploadId);
      const exists = await stat(dir).then(
        () => true,
        () => false,
      );
      if (!exists) {
        ctx.status = 404;
        ctx.type = 'application/xml';
        ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${escapeXml(uploadId)}</UploadId></Error>`;
        return;
      }
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = null;
      return;
    }
    if (ctx.method === 'GET' && keyParts.filter(Boolean).length === 0 && 'uploads' in ctx.query) {
      const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
      const ids = await readdir(uploadsDir(bucket)).catch(() => [] as string[]);
      const uploads: string[] = [];
      for (const id of ids.sort()) {
        const key = await readFile(join(uploadsDir(bucket), id, 'key'), 'utf8').catch(() => undefined);
        if (key === undefined || !key.startsWith(prefix)) continue;
        const initiated = (await stat(join(uploadsDir(bucket), id))).mtime.toISOString();
        uploads.push(
          `<Upload><Key>${escapeXml(key)}</Key><UploadId>${id}</UploadId><Initiated>${initiated}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
        );
      }
      ctx.status = 200;
      ctx.type = 'application/xml';
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult><Bucket>${escapeXml(bucket)}</Bucket><Prefix>${escapeXml(prefix)}</Prefix><MaxUploads>10000</MaxUploads><IsTruncated>false</IsTruncated>${uploads.join('')}</ListMultipartUploadsResult>`;
      return;
    }
    return next();
  };
}
