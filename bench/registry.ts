import type { Verdict } from './support/verdict.ts';

export type Bench = {
  description: string;
  /** Loaded only when the bench runs, so --help and other benches don't pay for its imports. */
  load(): Promise<{ run(): Promise<Verdict[]> }>;
};

/** Every bench `npm run bench` knows, in the order a full run takes them. A new bench is one line here. */
export const benches: Record<string, Bench> = {
  http: {
    description:
      'JSON route through the full bundle vs bare Hono and Fastify: req/s, p50, p99 (BENCH_DURATION s, default 10)',
    load: () => import('./http.ts'),
  },
  auth: {
    description:
      'authenticated JSON route vs the same route without auth (req/s ratio); login latency with the PBKDF2 cost',
    load: () => import('./auth.ts'),
  },
  jobs: {
    description:
      'job runner overhead around an empty job (lease + log writes), p50/p99, beside one query round trip (BENCH_RUNS, default 500)',
    load: () => import('./jobs.ts'),
  },
  logging: {
    description:
      'the health route (two small queries), one server with request logging switched off and on between BENCH_PAIRS (12) pairs of BENCH_DURATION s (3) rounds: req/s saturated (paired ratio, 95% interval), p99 in an open loop at 30% of capacity (rounds pooled); server and database CPU per request in both; writer rows/s beside plain INSERT and UNNEST anchors; on PGlite, and on PostgreSQL when 127.0.0.1:5432 answers (BENCH_LOGGING_DATABASE=postgres|pglite for one)',
    load: () => import('./logging.ts'),
  },
  backup: {
    description:
      'backup of BENCH_ROWS rows (default 5,000,000) on PostgreSQL vs pg_dump | gzip -1 to the same S3; restore vs psql; peak RSS',
    load: () => import('./backup.ts'),
  },
  sync: {
    description:
      'leads_sync: 100k leads from MariaDB (MYSQL_URL) into Postgres, rows/s beside a plain UNNEST insert of the same rows (BENCH_ROWS, BENCH_RUNS)',
    load: () => import('./sync.ts'),
  },
  'cold-start': {
    description:
      'Node server spawn to first healthy /api/health on an existing data dir vs a hello app (BENCH_RUNS, default 5)',
    load: () => import('./cold-start.ts'),
  },
  'seed-logs': {
    description:
      'fills request_logs with BENCH_LOG_ROWS (10M) realistic rows over 30 days + the rollup, in the database; resets a previous seed (BENCH_DATABASE_URL, else opsbase_bench_logs on 127.0.0.1:5432, else PGlite)',
    load: () => import('./seed-logs.ts'),
  },
  observability: {
    description:
      'p95 of every admin endpoint and of keyset /logs pages followed deep, through HTTP on the seeded table (seeds first when needed; BENCH_RUNS, BENCH_PAGES)',
    load: () => import('./observability.ts'),
  },
  dashboard: {
    description:
      'server time of each dashboard tab (p50/p95, in process) on the seed-logs request log (seeds first when needed), beside the JSON API; HTML + CSS + JS weight',
    load: () => import('./dashboard.ts'),
  },
  bundle: {
    description: "the Worker bundle's gzipped size (wrangler deploy --dry-run) beside a bare Hono Worker's",
    load: () => import('./bundle.ts'),
  },
  vending: {
    description:
      "machines list and an operator's tasks list at 100 connections over 300 machines and 100k tasks: p95, beside the health route (two small queries) and a static asset (no database)",
    load: () => import('./vending.ts'),
  },
  load: {
    description:
      "BENCH_USERS (100) virtual users for BENCH_DURATION s (60) against functions/node.ts: login, lead and task lists and details, lead edits, task completions, admin views; per route count, errors, p50/p95/p99 on 1M leads, 100k tasks, 10M log rows (BENCH_LEADS, BENCH_TASKS, BENCH_LOG_ROWS; BENCH_PGLITE_LOG_ROWS, 1M, on PGlite), seeded once and reused; PostgreSQL at 127.0.0.1:5432 and the PGlite dev stack (BENCH_LOAD_DATABASE=postgres|pglite for one); BENCH_THINK_MS (2000): longest pause between a user's actions",
    load: () => import('./load.ts'),
  },
};
