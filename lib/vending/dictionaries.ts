import { sql } from 'kysely';
import { z } from 'zod';
import type { Location, Product } from '../../schema/database.ts';
import type { Db } from '../db/connection.ts';
import { ConflictError } from '../errors.ts';
import { decodeCursor, type Page, pageOf } from '../pagination.ts';
import { uniqueViolation } from './sql.ts';

// Locations and the product catalog (the `nomenclature` table): listed, created one by one
// through the API, and loaded in bulk by `opsbase seed dictionaries`.

export type LocationView = {
  id: string;
  code: string;
  name: string;
  address: string | null;
  createdAt: string;
  updatedAt: string;
};

export type ProductView = {
  id: string;
  sku: string;
  name: string;
  category: string | null;
  unit: string;
  /** Exact decimal as a string ("12.50"), or null when unpriced. */
  price: string | null;
  isActive: boolean;
  createdAt: string;
  updatedAt: string;
};

export function toLocationView(row: Location): LocationView {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    address: row.address,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export function toProductView(row: Product): ProductView {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    category: row.category,
    unit: row.unit,
    price: row.price,
    isActive: row.is_active,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Ordered by code, keyset on it. */
export async function listLocations(db: Db, page: { limit: number; cursor?: string }): Promise<Page<LocationView>> {
  let query = db
    .selectFrom('locations')
    .selectAll()
    .orderBy('code')
    .limit(page.limit + 1);
  if (page.cursor) query = query.where('code', '>', decodeCursor(page.cursor, ['string'] as const)[0]);
  return pageOf(await query.execute(), page.limit, toLocationView, (row) => [row.code]);
}

/** Ordered by SKU, keyset on it. */
export async function listProducts(
  db: Db,
  page: { limit: number; cursor?: string; category?: string },
): Promise<Page<ProductView>> {
  let query = db
    .selectFrom('nomenclature')
    .selectAll()
    .orderBy('sku')
    .limit(page.limit + 1);
  if (page.category) query = query.where('category', '=', page.category);
  if (page.cursor) query = query.where('sku', '>', decodeCursor(page.cursor, ['string'] as const)[0]);
  return pageOf(await query.execute(), page.limit, toProductView, (row) => [row.sku]);
}

export type LocationInput = { code: string; name: string; address?: string | null };
export type ProductInput = {
  sku: string;
  name: string;
  category?: string | null;
  unit?: string;
  price?: string | null;
  isActive?: boolean;
};

export async function createLocation(db: Db, input: LocationInput): Promise<LocationView> {
  try {
    const row = await db
      .insertInto('locations')
      .values({ code: input.code, name: input.name, address: input.address ?? null })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toLocationView(row);
  } catch (error) {
    if (uniqueViolation(error)) throw new ConflictError(`a location with code ${input.code} already exists`);
    throw error;
  }
}

export async function createProduct(db: Db, input: ProductInput): Promise<ProductView> {
  try {
    const row = await db
      .insertInto('nomenclature')
      .values({
        sku: input.sku,
        name: input.name,
        category: input.category ?? null,
        ...(input.unit ? { unit: input.unit } : {}),
        price: input.price ?? null,
        ...(input.isActive === undefined ? {} : { is_active: input.isActive }),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toProductView(row);
  } catch (error) {
    if (uniqueViolation(error)) throw new ConflictError(`a product with SKU ${input.sku} already exists`);
    throw error;
  }
}

// ---- Bulk load (`opsbase seed dictionaries`) ----

const text = (max: number) => z.string().trim().min(1).max(max);
const optionalText = (max: number) =>
  z.preprocess((v) => (v === '' ? null : v), z.string().trim().max(max).nullable().optional());

export const LocationRecordSchema = z.strictObject({
  code: text(64),
  name: text(200),
  address: optionalText(500),
});

export const ProductRecordSchema = z.strictObject({
  sku: text(64),
  name: text(200),
  category: optionalText(100),
  unit: z.preprocess((v) => (v === '' ? undefined : v), text(20).optional()),
  price: z.preprocess(
    (v) => (v === '' || v === undefined ? null : typeof v === 'number' ? String(v) : v),
    z
      .string()
      .trim()
      .regex(/^\d{1,10}(\.\d{1,2})?$/, 'a price such as 12.50 (at most 2 decimals)')
      .nullable(),
  ),
  isActive: z.preprocess(
    (v) => (v === '' || v === undefined ? true : v === 'true' ? true : v === 'false' ? false : v),
    z.boolean(),
  ),
});

export type Dictionaries = {
  locations: z.infer<typeof LocationRecordSchema>[];
  nomenclature: z.infer<typeof ProductRecordSchema>[];
};

export type SeedCounts = { inserted: number; updated: number; unchanged: number };
export type SeedResult = { locations: SeedCounts; nomenclature: SeedCounts };

/**
 * Upserts by code / SKU in one transaction: a second run of the same file changes nothing, an
 * edited row is updated, and rows missing from the file are left alone (never deleted).
 */
export async function seedDictionaries(db: Db, data: Dictionaries): Promise<SeedResult> {
  return db.transaction().execute(async (trx) => {
    const locations = await upsertCounted(
      trx,
      data.locations.map((l) => sql`(${l.code}, ${l.name}, ${l.address ?? null})`),
      (rows) => sql`insert into locations (code, name, address) values ${sql.join(rows)}
        on conflict (code) do update set name = excluded.name, address = excluded.address, updated_at = now()
          where (locations.name, locations.address) is distinct from (excluded.name, excluded.address)
        returning (xmax = 0) as inserted`,
      data.locations.length,
    );
    const nomenclature = await upsertCounted(
      trx,
      data.nomenclature.map(
        (p) =>
          sql`(${p.sku}, ${p.name}, ${p.category ?? null}, ${p.unit ?? 'pcs'}, ${p.price}::numeric, ${p.isActive})`,
      ),
      (rows) => sql`insert into nomenclature (sku, name, category, unit, price, is_active) values ${sql.join(rows)}
        on conflict (sku) do update set name = excluded.name, category = excluded.category, unit = excluded.unit,
          price = excluded.price, is_active = excluded.is_active, updated_at = now()
          where (nomenclature.name, nomenclature.category, nomenclature.unit, nomenclature.price, nomenclature.is_active)
            is distinct from (excluded.name, excluded.category, excluded.unit, excluded.price, excluded.is_active)
        returning (xmax = 0) as inserted`,
      data.nomenclature.length,
    );
    return { locations, nomenclature };
  });
}

const SEED_BATCH = 500;

async function upsertCounted(
  db: Db,
  rows: ReturnType<typeof sql>[],
  statement: (rows: ReturnType<typeof sql>[]) => ReturnType<typeof sql<{ inserted: boolean }>>,
  total: number,
): Promise<SeedCounts> {
  const counts: SeedCounts = { inserted: 0, updated: 0, unchanged: 0 };
  for (let i = 0; i < rows.length; i += SEED_BATCH) {
    const result = await statement(rows.slice(i, i + SEED_BATCH)).execute(db);
    for (const row of result.rows) {
      if (row.inserted) counts.inserted++;
      else counts.updated++;
    }
  }
  counts.unchanged = total - counts.inserted - counts.updated;
  return counts;
}
