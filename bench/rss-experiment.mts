import { spawnEmbeddedS3 } from '../local/services.ts';
import { spawnTsChild } from './support/child.ts';

const s3 = await spawnEmbeddedS3({ directory: '/tmp/rss-s3', port: 0, bucket: 'bench' });
const env = {
  S3_ENDPOINT: s3.url,
  S3_BUCKET: 'bench',
  S3_ACCESS_KEY_ID: 'S3RVER',
  S3_SECRET_ACCESS_KEY: 'S3RVER',
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/opsbase_bench_backup_source',
};
for (const part of (process.env.PARTS ?? '5mb,8mb').split(',')) {
  const c = spawnTsChild('bench/backup-child.ts', {
    env: { ...process.env, ...env, BACKUP_PART_SIZE: part },
    args: ['create'],
  });
  await c.exited;
  console.log(part, c.output().trim().split('\n').at(-1));
}
await s3.stop();
