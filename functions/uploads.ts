import { z } from '@hono/zod-openapi';
import { findUpload, signedDownloadUrl, storeUpload } from '../lib/vending/uploads.ts';
import { IdParamSchema, UploadFormSchema, UploadSchema } from '../schema/api/vending.ts';
import { actorOf } from './actor.ts';
import { createFunction } from './base.ts';
import { ApiError } from './errors.ts';
import { errorResponses, json, route } from './route.ts';

const tags = ['vending: uploads'];

const uploadRoute = route('uploads:write', {
  method: 'post',
  path: '/api/uploads',
  tags,
  summary: 'Attach a photo or PDF to a task (multipart/form-data: taskId, file)',
  description:
    "The type is judged by the file's first bytes (PNG, JPEG, GIF, WebP, PDF), never by its name or Content-Type: anything else is 415. Bodies over BODY_LIMIT (10 MB) are 413. Operators may upload only to their own tasks (404 otherwise).",
  request: {
    body: { required: true, content: { 'multipart/form-data': { schema: UploadFormSchema } } },
  },
  responses: { 201: json(UploadSchema, 'Stored'), ...errorResponses(400, 401, 403, 404, 413, 415, 503) },
});

const downloadRoute = route('uploads:read', {
  method: 'get',
  path: '/api/uploads/{id}',
  tags,
  summary: 'Redirect to a short-lived signed URL of the file (UPLOAD_URL_TTL)',
  request: { params: IdParamSchema },
  responses: {
    302: { description: 'Location: the signed URL', headers: z.object({ Location: z.string() }) },
    ...errorResponses(400, 401, 403, 404, 503),
  },
});

export const uploads = createFunction()
  .openapi(uploadRoute, async (c) => {
    const { taskId, file } = c.req.valid('form');
    const bytes = new Uint8Array(await file.arrayBuffer());
    const { db, storage } = c.get('services');
    const upload = await storeUpload(db, storage, actorOf(c), {
      taskId,
      bytes,
      originalName: file.name ? file.name.slice(0, 255) : null,
    });
    return c.json(upload, 201);
  })
  .openapi(downloadRoute, async (c) => {
    const { db, storage, config } = c.get('services');
    const upload = await findUpload(db, actorOf(c), c.req.valid('param').id);
    if (!upload) throw new ApiError(404, 'NOT_FOUND', 'upload not found');
    const url = await signedDownloadUrl(storage, upload, config.vending.uploadUrlTtlSeconds);
    c.header('Cache-Control', 'no-store');
    return c.redirect(url, 302);
  });
