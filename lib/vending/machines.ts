import { sql } from 'kysely';
import type { MachineStatus } from '../../schema/database.ts';
import type { Db } from '../db/connection.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { decodeCursor, type Page, pageOf } from '../pagination.ts';
import { isoTimestamp, isoTimestampOrNull, isUuid, uniqueViolation } from './sql.ts';

export type MachineView = {
  id: string;
  code: string;
  name: string;
  status: MachineStatus;
  locationId: string | null;
  location: { id: string; code: string; name: string } | null;
  lastServicedAt: string | null;
  createdAt: string;
  updatedAt: string;
};

function selectMachines(db: Db) {
  return db
    .selectFrom('machines as m')
    .leftJoin('locations as l', 'l.id', 'm.location_id')
    .select([
      'm.id',
      'm.code',
      'm.name',
      'm.status',
      'm.location_id',
      isoTimestampOrNull('m.last_serviced_at').as('last_serviced_at'),
      isoTimestamp('m.created_at').as('created_at'),
      isoTimestamp('m.updated_at').as('updated_at'),
      'l.code as location_code',
      'l.name as location_name',
    ]);
}

type MachineRow = Awaited<ReturnType<ReturnType<typeof selectMachines>['executeTakeFirstOrThrow']>>;

function toMachineView(row: MachineRow): MachineView {
  return {
    id: row.id,
    code: row.code,
    name: row.name,
    status: row.status,
    locationId: row.location_id,
    location:
      row.location_id && row.location_code !== null && row.location_name !== null
        ? { id: row.location_id, code: row.location_code, name: row.location_name }
        : null,
    lastServicedAt: row.last_serviced_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export type MachineFilter = {
  status?: MachineStatus;
  locationId?: string;
  /** Part of the code or name, case-insensitive. */
  q?: string;
  limit: number;
  cursor?: string;
};

/** Ordered by code (unique), keyset on it. */
export async function listMachines(db: Db, filter: MachineFilter): Promise<Page<MachineView>> {
  let query = selectMachines(db)
    .orderBy('m.code')
    .limit(filter.limit + 1);
  if (filter.status) query = query.where('m.status', '=', filter.status);
  if (filter.locationId) query = query.where('m.location_id', '=', filter.locationId);
  if (filter.q) {
    const pattern = `%${filter.q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
    query = query.where((eb) => eb.or([eb('m.code', 'ilike', pattern), eb('m.name', 'ilike', pattern)]));
  }
  if (filter.cursor) {
    const [code] = decodeCursor(filter.cursor, ['string'] as const);
    query = query.where('m.code', '>', code);
  }
  return pageOf(await query.execute(), filter.limit, toMachineView, (row) => [row.code]);
}

export async function findMachine(db: Db, id: string): Promise<MachineView | undefined> {
  if (!isUuid(id)) return undefined;
  const row = await selectMachines(db).where('m.id', '=', id).executeTakeFirst();
  return row && toMachineView(row);
}

async function assertLocation(db: Db, locationId: string | null | undefined): Promise<void> {
  if (!locationId) return;
  const found = await db.selectFrom('locations').select('id').where('id', '=', locationId).executeTakeFirst();
  if (!found) throw new NotFoundError(`location ${locationId} not found`);
}

export async function createMachine(
  db: Db,
  input: {
    code: string;
    name: string;
    locationId?: string | null;
    status?: MachineStatus;
    lastServicedAt?: Date | null;
  },
): Promise<MachineView> {
  await assertLocation(db, input.locationId);
  try {
    const { id } = await db
      .insertInto('machines')
      .values({
        code: input.code,
        name: input.name,
        location_id: input.locationId ?? null,
        ...(input.status ? { status: input.status } : {}),
        last_serviced_at: input.lastServicedAt ?? null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return (await findMachine(db, id)) as MachineView;
  } catch (error) {
    if (uniqueViolation(error)) throw new ConflictError(`a machine with code ${input.code} already exists`);
    throw error;
  }
}

export async function updateMachine(
  db: Db,
  id: string,
  patch: { name?: string; locationId?: string | null; status?: MachineStatus; lastServicedAt?: Date | null },
): Promise<MachineView> {
  if (!(await findMachine(db, id))) throw new NotFoundError('machine not found');
  await assertLocation(db, patch.locationId);
  await db
    .updateTable('machines')
    .set({
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.locationId === undefined ? {} : { location_id: patch.locationId }),
      ...(patch.status === undefined ? {} : { status: patch.status }),
      ...(patch.lastServicedAt === undefined ? {} : { last_serviced_at: patch.lastServicedAt }),
      updated_at: sql`now()`,
    })
    .where('id', '=', id)
    .execute();
  return (await findMachine(db, id)) as MachineView;
}
