/**
 * Files in object storage that rows point at (photos, attachments), so a backup copies them and
 * a restore puts them back with their rows.
 *
 * A feature registers its table here, by adding one entry to OBJECT_REFERENCES:
 *
 *   { table: 'uploads', keyColumn: 'storage_key' }
 *
 * where `keyColumn` holds the object's key in S3_BUCKET. At backup time every distinct non-null
 * key of the snapshot is copied (server side) to <prefix>/<id>/objects/<key> and listed in the
 * manifest; restore copies each back to its key. A key whose object is already gone is listed
 * under `missingObjects` (the backup still succeeds). A table that is not in the database (its
 * migration has not run) or is excluded from the backup is skipped.
 */
export type ObjectReference = {
  table: string;
  keyColumn: string;
};

export const OBJECT_REFERENCES: readonly ObjectReference[] = [
  // Photos and PDFs attached to vending tasks (lib/vending/uploads.ts).
  { table: 'uploads', keyColumn: 'object_key' },
];
