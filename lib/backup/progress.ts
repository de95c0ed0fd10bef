/** What backup, verify and restore report while they work (the CLI draws bars from these). */
export type BackupProgress =
  | {
      phase: 'table';
      table: string;
      /** Rows so far. */
      rows: number;
      /** Bytes stored (backup) or read (restore, verify) so far. */
      bytes: number;
      /** The planner's estimate (backup) or the manifest's count (restore, verify). */
      estimatedRows: number;
      done: boolean;
    }
  | { phase: 'objects'; table: string; copied: number }
  | { phase: 'step'; message: string };
