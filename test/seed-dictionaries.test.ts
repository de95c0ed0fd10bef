import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_ENV } from './support/app.ts';
import { createTestDatabase, databaseKinds, type TestDatabase } from './support/database.ts';
import { ROOT, scratchDir } from './support/paths.ts';
import { spawnProject } from './support/processes.ts';

const sample = JSON.parse(readFileSync(join(ROOT, 'seeds/dictionaries.json'), 'utf8')) as {
  locations: unknown[];
  nomenclature: unknown[];
};

describe.each(databaseKinds())('opsbase seed dictionaries (%s)', (kind) => {
  let database: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    database = await createTestDatabase(kind);
    dir = scratchDir('seed');
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function seed(...args: string[]) {
    const run = spawnProject(['bin/opsbase.mjs', 'seed', 'dictionaries', ...args], {
      ...TEST_ENV,
      DATABASE_URL: database.url,
    });
    return { code: await run.exited, output: run.output() };
  }
  const counts = async () => ({
    locations: Number(
      (
        await database.db
          .selectFrom('locations')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
    nomenclature: Number(
      (
        await database.db
          .selectFrom('nomenclature')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
  });

  it('npm run seed:dictionaries is this command', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts['seed:dictionaries']).toBe('node bin/opsbase.mjs seed dictionaries');
  });

  it('loads the shipped sample by default', async () => {
    const first = await seed();
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain(`locations:    ${sample.locations.length} added, 0 updated, 0 unchanged`);
    expect(first.output).toContain(`nomenclature: ${sample.nomenclature.length} added, 0 updated, 0 unchanged`);
    expect(await counts()).toEqual({ locations: sample.locations.length, nomenclature: sample.nomenclature.length });
  });

  it('a second run of the same file changes nothing', async () => {
    const stamps = await database.db.selectFrom('nomenclature').select(['sku', 'updated_at']).orderBy('sku').execute();
    const second = await seed('seeds/dictionaries.json');
    expect(second.code, second.output).toBe(0);
    expect(second.output).toContain(`locations:    0 added, 0 updated, ${sample.locations.length} unchanged`);
    expect(await counts()).toEqual({ locations: sample.locations.length, nomenclature: sample.nomenclature.length });
    expect(await database.db.selectFrom('nomenclature').select(['sku', 'updated_at']).orderBy('sku').execute()).toEqual(
      stamps,
    );
  });

  it('reads CSV with a kind column; an edited row is updated, exact prices kept', async () => {
    const file = join(dir, 'edited.csv');
    writeFileSync(
      file,
      [
        'kind,code,sku,name,address,category,unit,price,is_active',
        'location,LOC-CENTRAL,,"Central Station, hall C",1 Station Square,,,,',
        'location,LOC-NEW,,New place,,,,,',
        'product,,DRK-COLA-05,Cola 0.5 l,,drinks,pcs,1.95,true',
        'product,,SNK-OLD-1,Old snack,,snacks,pcs,,false',
      ].join('\n'),
    );
    const run = await seed(file);
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('locations:    1 added, 1 updated, 0 unchanged');
    expect(run.output).toContain('nomenclature: 1 added, 1 updated, 0 unchanged');
    const cola = await database.db
      .selectFrom('nomenclature')
      .selectAll()
      .where('sku', '=', 'DRK-COLA-05')
      .executeTakeFirstOrThrow();
    expect(cola.price).toBe('1.95');
    const old = await database.db
      .selectFrom('nomenclature')
      .selectAll()
      .where('sku', '=', 'SNK-OLD-1')
      .executeTakeFirstOrThrow();
    expect({ price: old.price, isActive: old.is_active }).toEqual({ price: null, isActive: false });
    const central = await database.db
      .selectFrom('locations')
      .selectAll()
      .where('code', '=', 'LOC-CENTRAL')
      .executeTakeFirstOrThrow();
    expect(central.name).toBe('Central Station, hall C');
  });

  it('loads the shipped CSV sample', async () => {
    const run = await seed('seeds/dictionaries.csv');
    expect(run.code, run.output).toBe(0);
    expect(run.output).toContain('locations:    0 added');
  });

  it('a file with bad rows is refused whole with exit 1, naming each problem; nothing is written', async () => {
    const before = await counts();
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify({
        locations: [{ code: 'LOC-OK-1', name: 'Fine' }, { code: 'LOC-NONAME' }],
        nomenclature: [
          { sku: 'SKU-OK-1', name: 'Fine' },
          { sku: 'SKU-BAD', name: 'Bad price', price: '1.999' },
          { sku: 'SKU-OK-1', name: 'Twice' },
        ],
      }),
    );
    const run = await seed(file);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/locations\[1\]: name/);
    expect(run.output).toMatch(/nomenclature\[1\]: price: a price such as 12\.50/);
    expect(run.output).toMatch(/sku SKU-OK-1 appears more than once/);
    expect(await counts()).toEqual(before);

    const missing = await seed(join(dir, 'nope.json'));
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('ENOENT');
    expect(await counts()).toEqual(before);
  });
});
