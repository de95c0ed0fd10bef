import { describe, expect, it } from 'vitest';
import { DictionaryFileError, parseDictionaryFile } from './dictionary-file.ts';

const problemsOf = (name: string, content: string) => {
  try {
    parseDictionaryFile(name, content);
  } catch (error) {
    if (error instanceof DictionaryFileError) return error.problems;
    throw error;
  }
  return [];
};

describe('dictionaries file', () => {
  it('reads CSV rows by their kind column, empty cells as unset', () => {
    const data = parseDictionaryFile(
      'd.csv',
      'kind,code,sku,name,address,price,is_active\nlocation,L-1,,"Hall, B",,,\nproduct,,P-1,Cola,,1.5,false\n',
    );
    expect(data.locations).toEqual([{ code: 'L-1', name: 'Hall, B' }]);
    expect(data.nomenclature).toEqual([{ sku: 'P-1', name: 'Cola', price: '1.5', isActive: false }]);
  });

  it('names every bad row by line: an unknown kind, a missing name, a bad price', () => {
    expect(
      problemsOf('d.csv', 'kind,code,sku,name,price\nmachine,M-1,,Nope,\nlocation,L-1,,,\nproduct,,P-1,Cola,abc\n'),
    ).toEqual([
      'line 2: kind must be location or product, got "machine"',
      'line 3: name: Invalid input: expected string, received undefined',
      'line 4: price: a price such as 12.50 (at most 2 decimals)',
    ]);
  });

  it('refuses files that are neither JSON nor CSV, malformed JSON and unknown keys', () => {
    expect(problemsOf('d.txt', 'x')).toEqual(['expected a .json or .csv file']);
    expect(problemsOf('d.json', '{')[0]).toMatch(/^not valid JSON/);
    expect(problemsOf('d.json', '{"machines": []}')).toEqual([
      'unknown key "machines" (expected locations, nomenclature)',
    ]);
    expect(problemsOf('d.csv', 'kind,code\n"unterminated')[0]).toMatch(/^not valid CSV/);
  });
});
