import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { type SeedCounts, seedDictionaries } from '../../lib/vending/dictionaries.ts';
import { parseDictionaryFile } from '../../lib/vending/dictionary-file.ts';
import { cliConfig, withDatabase } from './context.ts';

export const DEFAULT_DICTIONARIES_FILE = 'seeds/dictionaries.json';

const describeCounts = (c: SeedCounts) => `${c.inserted} added, ${c.updated} updated, ${c.unchanged} unchanged`;

export function seedCommand(): Command {
  const seed = new Command('seed').description('Load reference data');

  seed
    .command('dictionaries [file]')
    .description(
      `Load locations and the product catalog (nomenclature) from a JSON or CSV file (default ${DEFAULT_DICTIONARIES_FILE}); upserts by code / SKU, so running it again changes nothing`,
    )
    .action(async (file: string | undefined) => {
      const path = file ?? DEFAULT_DICTIONARIES_FILE;
      let content: string;
      try {
        content = readFileSync(path, 'utf8');
      } catch (error) {
        throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      // Parsed and checked whole before anything is written.
      const data = parseDictionaryFile(path, content);
      await withDatabase(cliConfig(), async (db) => {
        const result = await seedDictionaries(db, data);
        console.log(`${path}:`);
        console.log(`  locations:    ${describeCounts(result.locations)}`);
        console.log(`  nomenclature: ${describeCounts(result.nomenclature)}`);
      });
    });

  return seed;
}
