import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../lib/backup/create.ts';
import { restoreBackup } from '../lib/backup/restore.ts';
import type { Storage } from '../lib/storage.ts';
import { backupDeps, storageFor, tableFingerprints } from './support/backup.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { startTestServer, type TestServer } from './support/node-server.ts';
import { startTestS3, type TestS3 } from './support/s3.ts';
import { seedMachine, seedTask, seedUsers } from './support/vending.ts';

// Uploads are registered with backups (lib/backup/object-refs.ts): a backup copies the objects
// the uploads table refers to, and a restore puts them back with their rows.

const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('a photo of a refilled shelf')]);
const PDF = Buffer.from('%PDF-1.7\nservice report for M-001\n%%EOF\n');
const TABLES = ['users', 'locations', 'machines', 'tasks', 'uploads'];

describe.each(databaseKinds())('uploads in backups (%s)', (kind) => {
  let source: TestDatabase;
  let s3: TestS3;
  let storage: Storage;
  beforeAll(async () => {
    [source, s3] = await Promise.all([createTestDatabase(kind), startTestS3()]);
    storage = storageFor(s3);
  });
  afterAll(async () => {
    await source?.drop();
    await s3?.stop();
  });

  async function upload(server: TestServer, token: string, taskId: string, bytes: Buffer, name: string) {
    const form = new FormData();
    form.set('taskId', taskId);
    form.set('file', new File([new Uint8Array(bytes)], name));
    const res = await server.request('/api/uploads', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form,
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string };
  }
  async function download(server: TestServer, token: string, id: string): Promise<Buffer> {
    const redirect = await server.request(`/api/uploads/${id}`, {
      headers: { authorization: `Bearer ${token}` },
      redirect: 'manual',
    });
    expect(redirect.status).toBe(302);
    const file = await fetch(redirect.headers.get('location') as string);
    expect(file.status).toBe(200);
    return Buffer.from(await file.arrayBuffer());
  }

  it('backup then restore brings back rows and the uploaded files byte for byte', async () => {
    const server = await startTestServer({ DATABASE_URL: source.url, ...s3.env });
    let ids: { png: string; pdf: string };
    let operator: Awaited<ReturnType<typeof seedUsers>>[0];
    try {
      [operator] = await seedUsers(source.db, ['operator'] as const);
      const machine = await seedMachine(source.db);
      const task = await seedTask(source.db, { machineId: machine.id, assignedTo: operator.id });
      const token = await server.tokenFor(operator);
      ids = {
        png: (await upload(server, token, task.id, PNG, 'shelf.png')).id,
        pdf: (await upload(server, token, task.id, PDF, 'report.pdf')).id,
      };
    } finally {
      await server.close();
    }
    const keys = (await source.db.selectFrom('uploads').select('object_key').orderBy('object_key').execute()).map(
      (r) => r.object_key,
    );
    const before = await tableFingerprints(source.db, TABLES);

    const made = await createBackup(backupDeps(source.db, storage), { trigger: 'cli', holder: 'test-uploads' });
    expect(made.manifest.objects.map((o) => o.key).sort()).toEqual(keys);
    expect(made.manifest.missingObjects).toEqual([]);

    // Disaster: the files are gone from the bucket, and the database with them.
    for (const key of keys) await storage.client.send(new DeleteObjectCommand({ Bucket: storage.bucket, Key: key }));
    await expect(storage.client.send(new GetObjectCommand({ Bucket: storage.bucket, Key: keys[0] }))).rejects.toThrow();

    const target = await createTestDatabase(kind);
    try {
      const summary = await restoreBackup(
        { ...backupDeps(target.db, storage), target: target.db, prefix: 'backups', encryptionKey: undefined },
        made.id,
      );
      expect(summary.objects).toBe(2);
      expect(await tableFingerprints(target.db, TABLES)).toEqual(before);

      // Through the API of a server on the restored database: the same bytes.
      const restored = await startTestServer({ DATABASE_URL: target.url, ...s3.env });
      try {
        const token = await restored.tokenFor(operator);
        expect((await download(restored, token, ids.png)).equals(PNG)).toBe(true);
        expect((await download(restored, token, ids.pdf)).equals(PDF)).toBe(true);
      } finally {
        await restored.close();
      }
    } finally {
      await target.drop();
    }
  });
});
