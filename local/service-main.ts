/**
 * A child process running one embedded service (the PGlite server or the S3 emulator), started
 * by local/services.ts. It reports readiness over IPC and stops cleanly on SIGTERM, SIGINT or
 * when its parent goes away, so PGlite always closes its data dir.
 */
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { startEmbeddedS3 } from './embedded-s3.ts';

type Request =
  | { kind: 'postgres'; dataDir: string; port: number; host?: string }
  | { kind: 's3'; directory: string; port: number; bucket: string; host?: string };

const request = JSON.parse(process.argv[2] ?? '{}') as Request;

async function main() {
  const service = request.kind === 'postgres' ? await startEmbeddedPostgres(request) : await startEmbeddedS3(request);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await service.stop();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', stop);
  // Ctrl-C reaches the whole process group; the parent stops the app first, then sends SIGTERM.
  process.on('SIGINT', () => {});
  process.on('disconnect', stop);
  process.send?.({
    ready: true,
    ...('url' in service ? { url: service.url } : { endpoint: service.endpoint }),
    port: service.port,
  });
}

main().catch((error: Error) => {
  process.send?.({ ready: false, error: error.message });
  console.error(error.message);
  process.exit(1);
});
