// `npm run bench -- [name...]`: runs the named benches (all when none is named) and sums up
// their budgets. Benches print ratios against anchors measured in the same run.
import { benches } from './registry.ts';
import { cleanupAll } from './support/cleanup.ts';
import { formatVerdict, type Verdict } from './support/verdict.ts';

function usage(): string {
  const width = Math.max(...Object.keys(benches).map((name) => name.length));
  return [
    'Usage: npm run bench -- [name...]   (no name: run every bench)',
    '',
    'Benches:',
    ...Object.entries(benches).map(([name, bench]) => `  ${name.padEnd(width)}  ${bench.description}`),
  ].join('\n');
}

/** Ctrl-C or a kill mid-run still stops the servers and removes scratch data. */
function cleanUpOnSignal(): void {
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: stopping servers and removing scratch data`);
    cleanupAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

async function main(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage());
    return 0;
  }
  const unknown = args.filter((name) => !Object.hasOwn(benches, name));
  if (unknown.length > 0) {
    console.error(`Unknown bench: ${unknown.join(', ')}\n\n${usage()}`);
    return 1;
  }
  const names = args.length > 0 ? [...new Set(args)] : Object.keys(benches);

  cleanUpOnSignal();
  const verdicts: Verdict[] = [];
  const failed: string[] = [];
  for (const name of names) {
    console.log(`\n== ${name} ==`);
    try {
      const bench = await benches[name]!.load();
      const results = await bench.run();
      for (const verdict of results) console.log(formatVerdict(verdict));
      verdicts.push(...results);
    } catch (error) {
      failed.push(name);
      console.error(`[${name}] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    } finally {
      await cleanupAll();
    }
  }

  if (names.length > 1) {
    console.log('\n== summary ==');
    for (const verdict of verdicts) console.log(`${verdict.bench}: ${formatVerdict(verdict)}`);
    for (const name of failed) console.log(`${name}: FAILED (see above)`);
  }
  // A missed budget is a finding to read, not a failure: only a bench that could not run fails.
  return failed.length > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
