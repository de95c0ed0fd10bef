// Node server cold start: spawn to the first healthy answer, on a data dir that already exists.
import { setTimeout as sleep } from 'node:timers/promises';
import { childFailure, spawnTsChild } from './support/child.ts';
import { freePort } from './support/free-port.ts';
import { httpGet } from './support/http-probe.ts';
import { jwtSecretForScratch } from './support/jwt-secret.ts';
import { scratchDir } from './support/paths.ts';
import { BENCH_JSON_PATH } from './support/payload.ts';
import { progress } from './support/progress.ts';
import { positiveNumberFromEnv } from './support/settings.ts';
import { median } from './support/stats.ts';
import { formatTable } from './support/table.ts';
import type { Verdict } from './support/verdict.ts';

/** DESIGN.md budget for a restart on an existing data dir. */
const TARGET_MS = 1500;
const POLL_INTERVAL_MS = 5;
const READY_TIMEOUT_MS = 120_000;

/** A way to start a server and the answer that counts as "up". */
type Launch = { label: string; entry: string; env: NodeJS.ProcessEnv; path: string; ready(status: number): boolean };

const say = progress('cold-start');

export async function run(): Promise<Verdict[]> {
  const runs = Math.round(positiveNumberFromEnv('BENCH_RUNS', 5));
  const dataDir = scratchDir('cold-start');
  try {
    const opsbase: Launch = {
      label: 'Opsbase (functions/node.ts)',
      entry: 'functions/node.ts',
      // Blank database and S3 settings so neither the shell nor a .env points it elsewhere: this
      // measures the embedded PGlite reopening DATA_DIR.
      env: {
        DATA_DIR: dataDir.path,
        HOST: '127.0.0.1',
        LOCAL_PG_PORT: '0',
        LOG_LEVEL: 'warn',
        JWT_SECRET: jwtSecretForScratch(),
        DATABASE_URL: '',
        DATABASE_HOST: '',
        S3_ENDPOINT: '',
      },
      path: '/api/health',
      ready: (status) => status === 200,
    };
    const hello: Launch = {
      label: 'bare Hono hello (node-server)',
      entry: 'bench/servers/hono.ts',
      env: {},
      path: BENCH_JSON_PATH,
      ready: () => true,
    };

    say(`preparing ${dataDir.path}: the first start creates and migrates the embedded PGlite`);
    const firstMs = await timeToReady(opsbase);
    say(`first start (create + migrate) took ${(firstMs / 1000).toFixed(2)} s`);

    const opsbaseMs: number[] = [];
    const helloMs: number[] = [];
    // Alternated so a burst of load from elsewhere on the machine hits both alike.
    for (let i = 1; i <= runs; i++) {
      helloMs.push(await timeToReady(hello));
      opsbaseMs.push(await timeToReady(opsbase));
      say(`run ${i}/${runs}: Opsbase ${opsbaseMs.at(-1)!.toFixed(0)} ms, hello ${helloMs.at(-1)!.toFixed(0)} ms`);
    }

    const row = (launch: Launch, samples: number[]) => [
      launch.label,
      median(samples).toFixed(0),
      Math.min(...samples).toFixed(0),
      Math.max(...samples).toFixed(0),
      samples.map((ms) => ms.toFixed(0)).join(', '),
    ];
    console.log(`\nspawn to first ready answer, ${runs} runs each (node --import tsx)\n`);
    console.log(
      formatTable(
        ['server', 'median ms', 'min ms', 'max ms', 'runs ms'],
        [row(opsbase, opsbaseMs), row(hello, helloMs)],
      ),
    );
    const opsbaseMedian = median(opsbaseMs);
    console.log(`\nOpsbase / hello median: ${(opsbaseMedian / median(helloMs)).toFixed(2)}x\n`);
    return [
      {
        bench: 'cold-start',
        target: `Opsbase median cold start <= ${TARGET_MS} ms`,
        measured: `${opsbaseMedian.toFixed(0)} ms`,
        pass: opsbaseMedian <= TARGET_MS,
      },
    ];
  } finally {
    dataDir.remove();
  }
}

/** Spawns the server on a free port, polls until it answers ready, stops it; returns spawn-to-ready ms. */
async function timeToReady(launch: Launch): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawnTsChild(launch.entry, { env: { ...process.env, ...launch.env, PORT: String(port) } });
  try {
    let lastAnswer = 'no answer';
    while (performance.now() - started < READY_TIMEOUT_MS) {
      if (child.process.exitCode !== null || child.process.signalCode !== null) {
        throw childFailure(launch.entry, child, `exited before it was ready (${lastAnswer})`);
      }
      try {
        const { status } = await httpGet(port, launch.path, 1_000);
        if (launch.ready(status)) return performance.now() - started;
        lastAnswer = `last answer ${status}`;
      } catch {
        // not listening yet
      }
      await sleep(POLL_INTERVAL_MS);
    }
    throw childFailure(launch.entry, child, `was not ready within ${READY_TIMEOUT_MS / 1000} s (${lastAnswer})`);
  } finally {
    const exit = await child.stop();
    if (exit !== 0) say(`${launch.label} exited with ${exit} on SIGTERM (expected 0)`);
  }
}
