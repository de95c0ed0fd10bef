import { parse as parseCsv } from 'csv-parse/sync';
import type { z } from 'zod';
import { type Dictionaries, LocationRecordSchema, ProductRecordSchema } from './dictionaries.ts';

/** Every problem found in a dictionaries file, each naming where it is; nothing is loaded. */
export class DictionaryFileError extends Error {
  override name = 'DictionaryFileError';
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

const KINDS: Record<string, 'locations' | 'nomenclature'> = {
  location: 'locations',
  product: 'nomenclature',
  nomenclature: 'nomenclature',
};

/** CSV headers in snake_case map to the record fields. */
const CSV_FIELDS: Record<string, string> = { is_active: 'isActive' };

/**
 * Reads a dictionaries file. JSON: `{"locations": [...], "nomenclature": [...]}`. CSV: a header
 * row with a `kind` column (`location` or `product`) and the fields of each kind
 * (code,name,address / sku,name,category,unit,price,is_active); empty cells mean "not set".
 */
export function parseDictionaryFile(name: string, content: string): Dictionaries {
  const problems: string[] = [];
  const data: Dictionaries = { locations: [], nomenclature: [] };
  const take = (kind: keyof Dictionaries, record: unknown, where: string) => {
    const schema = kind === 'locations' ? LocationRecordSchema : ProductRecordSchema;
    const parsed = (schema as z.ZodType).safeParse(record);
    if (parsed.success) (data[kind] as unknown[]).push(parsed.data);
    else
      for (const issue of parsed.error.issues)
        problems.push(`${where}: ${issue.path.join('.') || kind}: ${issue.message}`);
  };

  if (/\.json$/i.test(name)) {
    let document: unknown;
    try {
      document = JSON.parse(content);
    } catch (error) {
      throw new DictionaryFileError(name, [`not valid JSON (${(error as Error).message})`]);
    }
    if (!document || typeof document !== 'object' || Array.isArray(document)) {
      throw new DictionaryFileError(name, ['expected an object with "locations" and/or "nomenclature" arrays']);
    }
    for (const [key, value] of Object.entries(document)) {
      const kind =
        key === 'locations' ? 'locations' : key === 'nomenclature' || key === 'products' ? 'nomenclature' : undefined;
      if (!kind) {
        problems.push(`unknown key "${key}" (expected locations, nomenclature)`);
        continue;
      }
      if (!Array.isArray(value)) {
        problems.push(`"${key}" must be an array`);
        continue;
      }
      for (const [i, record] of value.entries()) take(kind, record, `${key}[${i}]`);
    }
  } else if (/\.csv$/i.test(name)) {
    let rows: Record<string, string>[];
    try {
      rows = parseCsv(content, { columns: true, skip_empty_lines: true, trim: true, bom: true });
    } catch (error) {
      throw new DictionaryFileError(name, [`not valid CSV (${(error as Error).message})`]);
    }
    rows.forEach((row, i) => {
      const where = `line ${i + 2}`;
      const { kind: kindCell, ...cells } = row;
      const kind = KINDS[(kindCell ?? '').toLowerCase()];
      if (!kind) {
        problems.push(`${where}: kind must be location or product, got "${kindCell ?? ''}"`);
        return;
      }
      const record = Object.fromEntries(
        Object.entries(cells)
          .filter(([, value]) => value !== '')
          .map(([key, value]) => [CSV_FIELDS[key] ?? key, value]),
      );
      take(kind, record, where);
    });
  } else {
    throw new DictionaryFileError(name, ['expected a .json or .csv file']);
  }

  for (const [kind, key] of [
    ['locations', 'code'],
    ['nomenclature', 'sku'],
  ] as const) {
    const seen = new Set<string>();
    for (const record of data[kind] as Record<string, string>[]) {
      const value = record[key] as string;
      if (seen.has(value)) problems.push(`${kind}: ${key} ${value} appears more than once`);
      seen.add(value);
    }
  }
  if (problems.length > 0) throw new DictionaryFileError(name, problems);
  return data;
}
