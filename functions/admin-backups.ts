import { backupViews } from '../lib/backup/list.ts';
import { backupRows, closeAbandonedBackups } from '../lib/backup/repository.ts';
import { startBackup } from '../lib/backup/start.ts';
import { verifyBackup } from '../lib/backup/verify.ts';
import { DependencyUnavailableError } from '../lib/errors.ts';
import {
  BackupIdParamSchema,
  BackupListSchema,
  BackupStartedSchema,
  VerifyQuerySchema,
  VerifyResultSchema,
} from '../schema/api/backups.ts';
import { createFunction } from './base.ts';
import type { Services } from './context.ts';
import { errorResponses, json, route } from './route.ts';

const tags = ['admin: backups'];

const listRoute = route('admin:access', {
  method: 'get',
  path: '/api/admin/system/backups',
  tags,
  summary: 'Backups in storage (complete, incomplete) and running or failed ones, newest first',
  responses: { 200: json(BackupListSchema, 'The backups'), ...errorResponses(401, 403, 503) },
});

const startRoute = route('backups:manage', {
  method: 'post',
  path: '/api/admin/system/backups',
  tags,
  summary: 'Start a backup now (runs in the background; 409 while another backup runs)',
  responses: { 202: json(BackupStartedSchema, 'Started'), ...errorResponses(401, 403, 409, 503) },
});

const verifyRoute = route('backups:manage', {
  method: 'post',
  path: '/api/admin/system/backups/{id}/verify',
  tags,
  summary: 'Re-read every object of a backup against its manifest; drill=true also restores it into a scratch database',
  request: { params: BackupIdParamSchema, query: VerifyQuerySchema },
  responses: {
    200: json(VerifyResultSchema, 'The verification (ok false lists the problems, naming each object)'),
    ...errorResponses(400, 401, 403, 404, 409, 503),
  },
});

function storageOf(s: Services) {
  if (!s.storage) throw new DependencyUnavailableError('storage', 'S3_ENDPOINT is not set');
  return s.storage;
}

export const adminBackups = createFunction()
  .openapi(listRoute, async (c) => {
    const s = c.get('services');
    await closeAbandonedBackups(s.db);
    const items = await backupViews(storageOf(s), s.config.backup.prefix, await backupRows(s.db));
    return c.json({ items }, 200);
  })
  .openapi(startRoute, async (c) => {
    const s = c.get('services');
    const { id, done } = await startBackup(
      { db: s.db, storage: storageOf(s), settings: s.config.backup, logger: s.logger, commit: s.config.deployCommit },
      { trigger: 'api', holder: `${s.instanceId}:api`, leaseMs: s.config.jobs.leaseMs },
    );
    // The outcome is recorded in the backups index (and logged); the caller polls the list.
    s.defer(done.catch(() => undefined));
    return c.json({ id, state: 'running' as const }, 202);
  })
  .openapi(verifyRoute, async (c) => {
    const s = c.get('services');
    const result = await verifyBackup(
      {
        db: s.db,
        storage: storageOf(s),
        settings: s.config.backup,
        logger: s.logger,
        scratchDatabase: s.scratchDatabase,
      },
      c.req.valid('param').id,
      { drill: c.req.valid('query').drill === 'true' },
    );
    return c.json(result, 200);
  });
