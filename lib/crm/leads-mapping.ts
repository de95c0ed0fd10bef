/**
 * Which source column holds each lead field. Defaults are the field names themselves (the table
 * local/leads-source.sql creates); LEADS_MYSQL_COLUMNS overrides some, e.g.
 * `external_id=lead_id,name=full_name,updated_at=modified_on,city=` (empty: the source has none).
 */
export const LEAD_FIELDS = [
  'external_id',
  'name',
  'phone',
  'email',
  'city',
  'source',
  'status',
  'assigned_to',
  'notes',
  'created_at',
  'updated_at',
] as const;
export type LeadField = (typeof LEAD_FIELDS)[number];

/** Fields every source must have: the key, and the change time the incremental cursor follows. */
const REQUIRED: readonly LeadField[] = ['external_id', 'updated_at'];

/** Column name for each field; null where the source has no such column. */
export type LeadColumns = Record<LeadField, string | null>;

export const DEFAULT_LEAD_COLUMNS: LeadColumns = {
  ...(Object.fromEntries(LEAD_FIELDS.map((f) => [f, f])) as LeadColumns),
  external_id: 'id',
};

/** A MySQL identifier we are willing to quote: letters, digits, _ and $; `db.table` for tables. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,63}$/;

export function isSourceTable(name: string): boolean {
  const parts = name.split('.');
  return parts.length <= 2 && parts.every((p) => IDENTIFIER.test(p));
}

/** Parses LEADS_MYSQL_COLUMNS; throws an Error naming what is wrong. */
export function parseLeadColumns(spec: string): LeadColumns {
  const columns: LeadColumns = { ...DEFAULT_LEAD_COLUMNS };
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [field = '', column = '', ...rest] = item.split('=').map((s) => s.trim());
    if (rest.length > 0 || !item.includes('=')) throw new Error(`"${item}" is not field=column`);
    if (!(LEAD_FIELDS as readonly string[]).includes(field)) {
      throw new Error(`unknown field "${field}" (fields: ${LEAD_FIELDS.join(', ')})`);
    }
    if (column === '') {
      if (REQUIRED.includes(field as LeadField)) throw new Error(`${field} needs a column`);
      columns[field as LeadField] = null;
    } else if (!IDENTIFIER.test(column)) {
      throw new Error(`"${column}" is not a plain column name`);
    } else {
      columns[field as LeadField] = column;
    }
  }
  return columns;
}
