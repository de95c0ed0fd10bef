// One restore in a process of its own, so the bench can read its time and peak RSS (the backup is
// measured through the CLI itself). Prints one JSON line: { id, ms, maxRssMb }.
import { restoreBackup } from '../lib/backup/restore.ts';
import { parseConfig } from '../lib/config.ts';
import { createDb, createPool } from '../lib/db/connection.ts';
import { createLogger } from '../lib/logger.ts';
import { createStorage } from '../lib/storage.ts';

const [command, id] = process.argv.slice(2);
const config = parseConfig({ ...process.env, JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0' });
if (!config.s3 || !config.databaseUrl) throw new Error('DATABASE_URL and S3_ENDPOINT are required');
const storage = createStorage(config.s3);
const db = createDb(createPool(config.databaseUrl, { max: 2 }));
const logger = createLogger('warn', { bench: 'backup-child' });
const started = performance.now();
// Where the memory is, sampled while the work runs (printed with the result).
const peak = { heapUsed: 0, external: 0, arrayBuffers: 0 };
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
  peak.external = Math.max(peak.external, m.external);
  peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
}, 250);
try {
  if (command !== 'restore' || !id) throw new Error('usage: backup-child restore <id>');
  await restoreBackup({ target: db, storage, prefix: config.backup.prefix, encryptionKey: undefined, logger }, id);
  const ms = performance.now() - started;
  const mb = (n: number) => Math.round(n / 1024 / 1024);
  console.log(
    JSON.stringify({
      id,
      ms,
      maxRssMb: process.resourceUsage().maxRSS / 1024,
      peakHeapMb: mb(peak.heapUsed),
      peakExternalMb: mb(peak.external),
      peakArrayBuffersMb: mb(peak.arrayBuffers),
    }),
  );
} finally {
  clearInterval(sampler);
  await db.destroy();
}
