import { createHash } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage } from '../lib/storage.ts';
import { UPLOADS_PREFIX } from '../lib/vending/uploads.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { startTestServer, type TestServer } from './support/node-server.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { seedMachine, seedTask, seedUsers } from './support/vending.ts';

/** A real (tiny) PNG: signature, IHDR, IDAT, IEND. */
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082',
  'hex',
);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
/** The start of a Windows executable (MZ header). */
const EXE = Buffer.concat([Buffer.from('MZ\x90\x00\x03\x00\x00\x00', 'latin1'), Buffer.alloc(200, 0x41)]);

describe.each(databaseKinds())('uploads (%s)', (kind) => {
  let database: TestDatabase;
  let s3: TestS3;
  let server: TestServer;
  let tokens: { manager: string; a: string; b: string };
  let ids: { a: string; b: string };

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    s3 = await startTestS3();
    server = await startTestServer({ DATABASE_URL: database.url, ...s3.env });
    const [m, a, b] = await seedUsers(database.db, ['manager', 'operator', 'operator'] as const);
    tokens = { manager: await server.tokenFor(m), a: await server.tokenFor(a), b: await server.tokenFor(b) };
    ids = { a: a.id, b: b.id };
  });
  afterAll(async () => {
    await server?.close();
    await s3?.stop();
    await database?.drop();
  });

  const upload = async (token: string, taskId: string, bytes: Buffer, name: string, type: string) => {
    const form = new FormData();
    form.set('taskId', taskId);
    form.set('file', new File([new Uint8Array(bytes)], name, { type }));
    const res = await server.request('/api/uploads', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    // biome-ignore lint/suspicious/noExplicitAny: read field by field
    return { status: res.status, body: (await res.json()) as any };
  };
  const objectKeys = async () => {
    const storage = createStorage({
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      region: 'us-east-1',
      accessKeyId: s3.env.S3_ACCESS_KEY_ID,
      secretAccessKey: s3.env.S3_SECRET_ACCESS_KEY,
      forcePathStyle: true,
      publicUrl: undefined,
    });
    const listed = await storage.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: UPLOADS_PREFIX }));
    return (listed.Contents ?? []).map((o) => o.Key);
  };
  const uploadRows = async (taskId: string) =>
    database.db.selectFrom('uploads').selectAll().where('task_id', '=', taskId).execute();

  it('stores a photo under uploads/<task>/ and GET redirects to a short-lived signed URL serving the same bytes', async () => {
    const machine = await seedMachine(database.db);
    const task = await seedTask(database.db, { machineId: machine.id, assignedTo: ids.a });
    const stored = await upload(tokens.a, task.id, PNG, 'shelf.png', 'image/png');
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({
      taskId: task.id,
      contentType: 'image/png',
      sizeBytes: PNG.length,
      sha256: createHash('sha256').update(PNG).digest('hex'),
      originalName: 'shelf.png',
    });
    const [row] = await uploadRows(task.id);
    expect(row?.object_key).toMatch(new RegExp(`^${UPLOADS_PREFIX}${task.id}/${stored.body.id}\\.png$`));
    expect(await objectKeys()).toContain(row?.object_key);

    const redirect = await server.request(`/api/uploads/${stored.body.id}`, {
      headers: { authorization: `Bearer ${tokens.a}` },
      redirect: 'manual',
    });
    expect(redirect.status).toBe(302);
    const location = redirect.headers.get('location') ?? '';
    expect(location.startsWith(s3.endpoint)).toBe(true);
    expect(new URL(location).searchParams.get('X-Amz-Expires')).toBe('300');
    const file = await fetch(location);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await file.arrayBuffer()).equals(PNG)).toBe(true);
    // The task shows its uploads.
    const detail = await server.request(`/api/tasks/${task.id}`, {
      headers: { authorization: `Bearer ${tokens.manager}` },
    });
    expect((await detail.json()).uploads.map((u: { id: string }) => u.id)).toEqual([stored.body.id]);
  });

  it('judges the type by content: a PDF sent as octet-stream is a PDF; an executable named .png is 415', async () => {
    const machine = await seedMachine(database.db);
    const task = await seedTask(database.db, { machineId: machine.id, assignedTo: ids.a });
    const pdf = await upload(tokens.manager, task.id, PDF, 'report.bin', 'application/octet-stream');
    expect(pdf.status).toBe(201);
    expect(pdf.body.contentType).toBe('application/pdf');

    const keysBefore = await objectKeys();
    const exe = await upload(tokens.a, task.id, EXE, 'photo.png', 'image/png');
    expect(exe.status).toBe(415);
    expect(exe.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await uploadRows(task.id)).toHaveLength(1);
    expect(await objectKeys()).toEqual(keysBefore);
  });

  it('a body over BODY_LIMIT (10 MB) is 413 and nothing is stored', async () => {
    const machine = await seedMachine(database.db);
    const task = await seedTask(database.db, { machineId: machine.id, assignedTo: ids.a });
    const big = Buffer.concat([PNG, Buffer.alloc(10 * 1024 * 1024 + 1, 0)]);
    const res = await upload(tokens.a, task.id, big, 'huge.png', 'image/png');
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await uploadRows(task.id)).toEqual([]);
  });

  it("operator A cannot upload to or download from operator B's task (404), and nothing is stored", async () => {
    const machine = await seedMachine(database.db);
    const theirs = await seedTask(database.db, { machineId: machine.id, assignedTo: ids.b });
    const keysBefore = await objectKeys();
    const res = await upload(tokens.a, theirs.id, PNG, 'x.png', 'image/png');
    expect(res.status).toBe(404);
    expect(await uploadRows(theirs.id)).toEqual([]);
    expect(await objectKeys()).toEqual(keysBefore);

    const bs = await upload(tokens.b, theirs.id, PNG, 'b.png', 'image/png');
    expect(bs.status).toBe(201);
    const peek = await server.request(`/api/uploads/${bs.body.id}`, {
      headers: { authorization: `Bearer ${tokens.a}` },
      redirect: 'manual',
    });
    expect(peek.status).toBe(404);
  });

  it('bad forms are 4xx with the envelope: no file, an empty file, a bad task id, not multipart', async () => {
    const machine = await seedMachine(database.db);
    const task = await seedTask(database.db, { machineId: machine.id, assignedTo: ids.a });
    const post = (body: BodyInit, headers: Record<string, string> = {}) =>
      server.request('/api/uploads', {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.a}`, ...headers },
        body,
      });
    const noFile = new FormData();
    noFile.set('taskId', task.id);
    expect((await post(noFile)).status).toBe(400);
    expect((await upload(tokens.a, task.id, Buffer.alloc(0), 'empty.png', 'image/png')).status).toBe(400);
    expect((await upload(tokens.a, 'not-a-uuid', PNG, 'x.png', 'image/png')).status).toBe(400);
    const json = await post(JSON.stringify({ taskId: task.id }), { 'content-type': 'application/json' });
    expect(json.status).toBe(415);
    expect((await json.json()).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await uploadRows(task.id)).toEqual([]);
  });
});
