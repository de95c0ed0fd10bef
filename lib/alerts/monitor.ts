import type { AlertIncident } from '../../schema/database.ts';
import { newestCompleteBackup } from '../backup/repository.ts';
import type { Config } from '../config.ts';
import type { Db } from '../db/connection.ts';
import { isDatabaseUnavailable } from '../errors.ts';
import { checkHealth } from '../health.ts';
import { latestRuns, leaseJob, recentFinishedRuns, releaseJob } from '../jobs/repository.ts';
import type { JobDefinition } from '../jobs/types.ts';
import type { Logger } from '../logger.ts';
import type { RuntimeName } from '../runtime.ts';
import type { Storage } from '../storage.ts';
import { type AlertChannel, deliver } from './notify.ts';
import {
  insertIncident,
  installedAt,
  markAnnounced,
  openIncidents,
  recordNotifyError,
  resolveIncident,
  unannouncedRecoveries,
} from './repository.ts';
import { evaluateRules, formatDuration } from './rules.ts';

export type AlertDeps = {
  db: Db;
  config: Config;
  storage: Storage | null;
  logger: Logger;
  runtime: RuntimeName;
  startedAt: number;
  /** Who holds the check's lease (as job runs name their holder). */
  holder: string;
  channels: AlertChannel[];
  jobs: readonly JobDefinition[];
};

/**
 * What a process remembers between checks: only the database being unreachable, which cannot be
 * written to the database. One message when it goes, one when it comes back, per process.
 */
export type AlertMemory = { databaseDown: { since: Date; announced: boolean } | null };

export const createAlertMemory = (): AlertMemory => ({ databaseDown: null });

export type AlertCheckResult = {
  outcome: 'checked' | 'skipped' | 'database_unreachable';
  opened: string[];
  resolved: string[];
  /** Messages no channel took; retried on the next check. */
  undelivered: number;
};

/** The lease row that lets one replica at a time evaluate the rules (job_locks, as jobs use). */
const LEASE = 'alerts:check';
const LEASE_MS = 60_000;

export const alertsConfigured = (config: Config) =>
  Boolean(config.alerts.webhookUrl || (config.alerts.telegramChatId && config.telegram.botToken));

const openText = (summary: string) => `🔴 Opsbase alert: ${summary}`;
const recoveryText = (incident: Pick<AlertIncident, 'summary' | 'opened_at'>, now: Date) =>
  `✅ Opsbase resolved after ${formatDuration(now.getTime() - incident.opened_at.getTime())}: ${incident.summary}`;

/**
 * One pass of the alert rules. Under a lease so one replica evaluates at a time; every incident
 * lives in alert_incidents, so each gets one message when it opens and one when it resolves,
 * across restarts and replicas. A message no channel took is retried on the next pass.
 */
export async function checkAlerts(deps: AlertDeps, memory: AlertMemory): Promise<AlertCheckResult> {
  const { db, logger } = deps;
  const result: AlertCheckResult = { outcome: 'checked', opened: [], resolved: [], undelivered: 0 };
  let lease: Awaited<ReturnType<typeof leaseJob>>;
  try {
    lease = await leaseJob(db, LEASE, deps.holder, LEASE_MS);
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    return databaseUnreachable(deps, memory, error as Error, result);
  }
  if (!lease.acquired) return { ...result, outcome: 'skipped' };

  try {
    const now = new Date();
    const down = memory.databaseDown;
    if (down) {
      // Its outage was announced, so is its end (remembered until a channel takes the message).
      const sent = down.announced
        ? await send(deps, recoveryText({ summary: 'the database is reachable again', opened_at: down.since }, now))
        : { delivered: true };
      if (sent.delivered) memory.databaseDown = null;
      else result.undelivered++;
    }

    const [health, finishedRuns, latest, backups] = await Promise.all([
      checkHealth({
        db,
        storage: deps.storage,
        timeoutMs: deps.config.healthTimeoutMs,
        startedAt: deps.startedAt,
        runtime: deps.runtime,
        commit: deps.config.deployCommit,
      }),
      recentFinishedRuns(db, deps.config.alerts.afterFailures),
      latestRuns(db),
      deps.config.s3
        ? Promise.all([newestCompleteBackup(db), installedAt(db)]).then(([newest, installed]) => ({
            newestAt: newest?.finishedAt ?? null,
            installedAt: installed,
            maxAgeMs: deps.config.alerts.backupMaxAgeMs,
          }))
        : null,
    ]);
    const lastTriggeredAt = new Map(
      [...latest].flatMap(([job, runs]) => (runs.last ? [[job, runs.last.started_at] as const] : [])),
    );
    const conditions = evaluateRules({
      jobs: deps.jobs,
      finishedRuns,
      lastTriggeredAt,
      afterFailures: deps.config.alerts.afterFailures,
      health,
      backups,
      now,
    });
    const active = new Map(conditions.map((c) => [c.key, c]));
    const open = await openIncidents(db);
    const openKeys = new Set(open.map((incident) => incident.key));

    for (const condition of conditions) {
      if (openKeys.has(condition.key)) continue;
      const incident = await insertIncident(db, condition);
      if (!incident) continue; // opened meanwhile elsewhere
      result.opened.push(condition.key);
      logger.warn('alert opened', { key: condition.key, summary: condition.summary });
      if (!(await announce(deps, incident, 'open', openText(condition.summary)))) result.undelivered++;
    }
    for (const incident of open) {
      const still = active.get(incident.key);
      if (still) {
        // Open, but its message never went out (every channel failed last time): retry it.
        if (!incident.open_notified_at && !(await announce(deps, incident, 'open', openText(incident.summary))))
          result.undelivered++;
        continue;
      }
      const resolved = await resolveIncident(db, incident.id);
      if (!resolved) continue;
      result.resolved.push(incident.key);
      logger.info('alert resolved', { key: incident.key });
      // An incident whose opening was never announced ends quietly: a recovery of something
      // nobody heard about would only confuse.
      if (incident.open_notified_at && !(await announce(deps, resolved, 'resolve', recoveryText(resolved, now))))
        result.undelivered++;
    }
    for (const incident of await unannouncedRecoveries(db)) {
      if (result.resolved.includes(incident.key)) continue;
      if (!(await announce(deps, incident, 'resolve', recoveryText(incident, now)))) result.undelivered++;
    }
    return result;
  } finally {
    await releaseJob(db, LEASE, deps.holder).catch((error: Error) =>
      logger.warn('could not release the alert lease; it expires by itself', { error: error.message }),
    );
  }
}

async function send(deps: AlertDeps, text: string) {
  const sent = await deliver(deps.channels, text);
  if (sent.errors.length > 0) deps.logger.warn('alert channel failed', { errors: sent.errors });
  return sent;
}

/** Sends an incident's message and records that it went out (or why it did not). */
async function announce(
  deps: AlertDeps,
  incident: AlertIncident,
  what: 'open' | 'resolve',
  text: string,
): Promise<boolean> {
  const sent = await send(deps, text);
  if (sent.delivered) await markAnnounced(deps.db, incident.id, what);
  else await recordNotifyError(deps.db, incident.id, sent.errors.join('; '));
  return sent.delivered;
}

/** The database cannot be reached: health is red, and only this process's memory can hold that. */
async function databaseUnreachable(
  deps: AlertDeps,
  memory: AlertMemory,
  error: Error,
  result: AlertCheckResult,
): Promise<AlertCheckResult> {
  memory.databaseDown ??= { since: new Date(), announced: false };
  if (!memory.databaseDown.announced) {
    const sent = await send(deps, openText(`Health is red: the database is unreachable (${error.message})`));
    memory.databaseDown.announced = sent.delivered;
    if (sent.delivered) result.opened.push('database');
    else result.undelivered++;
  }
  return { ...result, outcome: 'database_unreachable' };
}

/** Node: runs the check every ALERT_CHECK_INTERVAL, one pass at a time. */
export function startAlertMonitor(deps: AlertDeps, intervalMs: number): { stop(): Promise<void> } {
  const memory = createAlertMemory();
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= checkAlerts(deps, memory)
      .then(
        (result) => {
          if (result.undelivered > 0)
            deps.logger.warn('alerts not delivered; retrying next check', { undelivered: result.undelivered });
        },
        (error: Error) => deps.logger.error('alert check failed', { error: error.message }),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  deps.logger.info('alert monitor started', {
    channels: deps.channels.map((c) => c.name),
    intervalSeconds: intervalMs / 1000,
  });
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
