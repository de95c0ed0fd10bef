import type { HealthReport } from '../health.ts';
import type { FinishedRun } from '../jobs/repository.ts';
import { isLate, periodMs } from '../jobs/schedule.ts';
import type { JobDefinition } from '../jobs/types.ts';

export type AlertRule = 'job_failing' | 'job_late' | 'health' | 'backup_stale';

/** Something that is wrong right now. Its key names the incident: one open incident per key. */
export type AlertCondition = {
  key: string;
  rule: AlertRule;
  summary: string;
  details: Record<string, unknown>;
};

export type RuleInputs = {
  jobs: readonly JobDefinition[];
  /** Each job's newest finished runs, newest first (at least afterFailures of them). */
  finishedRuns: Map<string, FinishedRun[]>;
  /** Each job's newest run of any status (a trigger happened), for lateness. */
  lastTriggeredAt: Map<string, Date>;
  afterFailures: number;
  health: HealthReport;
  /** Backups, when object storage is configured (else null: no backup can be made). */
  backups: { newestAt: Date | null; installedAt: Date | null; maxAgeMs: number } | null;
  now: Date;
};

/**
 * The alert rules, as a pure function of what was read:
 * - job_failing: a job's last ALERT_AFTER_FAILURES finished runs all failed;
 * - job_late: nothing triggered a job within its period plus grace (max(5 min, timeout)). A job
 *   that runs and fails is job_failing, not late; a job that never ran is new, not late;
 * - health: /api/health's dependencies are not all up;
 * - backup_stale: the newest complete backup is older than ALERT_BACKUP_MAX_AGE, or there has
 *   been none since the schema was installed that long ago.
 */
export function evaluateRules(input: RuleInputs): AlertCondition[] {
  const conditions: AlertCondition[] = [];
  for (const job of input.jobs) {
    const runs = input.finishedRuns.get(job.name) ?? [];
    const recent = runs.slice(0, input.afterFailures);
    if (recent.length === input.afterFailures && recent.every((run) => run.status === 'error')) {
      conditions.push({
        key: `job_failing:${job.name}`,
        rule: 'job_failing',
        summary: `Job ${job.name} failed ${input.afterFailures === 1 ? 'its last run' : `${input.afterFailures} times in a row`}. Last error: ${recent[0]?.error ?? 'unknown'}`,
        details: { job: job.name, failures: input.afterFailures, lastError: recent[0]?.error ?? null },
      });
    }
    const lastTriggered = input.lastTriggeredAt.get(job.name);
    if (isLate(job.schedule, job.timeoutMs, lastTriggered, input.now)) {
      conditions.push({
        key: `job_late:${job.name}`,
        rule: 'job_late',
        summary: `Job ${job.name} is late: it has not run since ${lastTriggered?.toISOString()} (schedule "${job.schedule}" UTC, every ${formatDuration(periodMs(job.schedule, lastTriggered))}). Is its trigger (scheduler, crontab or Workers cron) running?`,
        details: { job: job.name, lastRunAt: lastTriggered?.toISOString() ?? null, schedule: job.schedule },
      });
    }
  }
  const stale = backupCondition(input);
  if (stale) conditions.push(stale);
  const down = Object.entries(input.health.error);
  if (down.length > 0) {
    conditions.push({
      key: 'health',
      rule: 'health',
      summary: `Health is red: ${down.map(([name, status]) => `${name} is down (${'message' in status ? status.message : 'no answer'})`).join('; ')}`,
      details: { down: Object.fromEntries(down) },
    });
  }
  return conditions;
}

function backupCondition(input: RuleInputs): AlertCondition | null {
  if (!input.backups) return null;
  const { newestAt, installedAt, maxAgeMs } = input.backups;
  const limit = formatDuration(maxAgeMs);
  if (newestAt) {
    const age = input.now.getTime() - newestAt.getTime();
    if (age <= maxAgeMs) return null;
    return {
      key: 'backup_stale',
      rule: 'backup_stale',
      summary: `The newest complete backup is ${formatDuration(age)} old (finished ${newestAt.toISOString()}; the limit is ${limit}). Is db_backup running and succeeding?`,
      details: { newestBackupAt: newestAt.toISOString(), maxAgeMs },
    };
  }
  if (!installedAt || input.now.getTime() - installedAt.getTime() <= maxAgeMs) return null;
  return {
    key: 'backup_stale',
    rule: 'backup_stale',
    summary: `No complete backup exists, ${formatDuration(input.now.getTime() - installedAt.getTime())} after the database was set up (the limit is ${limit}). Is db_backup scheduled?`,
    details: { newestBackupAt: null, installedAt: installedAt.toISOString(), maxAgeMs },
  };
}

/** 90000 -> "1 min 30 s", 93600000 -> "1 d 2 h". */
export function formatDuration(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ];
  const parts: string[] = [];
  let rest = Math.max(0, Math.round(ms));
  for (const [name, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0) parts.push(`${count} ${name}`);
    rest -= count * size;
    if (parts.length === 2) break;
  }
  return parts.length > 0 ? parts.join(' ') : '0 s';
}
