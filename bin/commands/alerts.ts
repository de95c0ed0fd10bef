import { hostname } from 'node:os';
import { Command } from 'commander';
import { checkAlerts, createAlertMemory } from '../../lib/alerts/monitor.ts';
import { alertChannels, deliver } from '../../lib/alerts/notify.ts';
import { recentIncidents } from '../../lib/alerts/repository.ts';
import { JOBS } from '../../lib/jobs/registry.ts';
import { createLogger } from '../../lib/logger.ts';
import { createStorage } from '../../lib/storage.ts';
import { cliConfig, withDatabase } from './context.ts';
import { printTable } from './table.ts';

export function alertsCommand(): Command {
  const alerts = new Command('alerts').description('Send a test alert, check the alert rules, list incidents');

  alerts
    .command('test')
    .description('Send a test message to every configured channel (ALERT_WEBHOOK_URL, ALERT_TELEGRAM_CHAT_ID)')
    .action(async () => {
      const channels = alertChannels(cliConfig());
      if (channels.length === 0) {
        console.error(
          'error: no alert channel: set ALERT_WEBHOOK_URL and/or ALERT_TELEGRAM_CHAT_ID (+ TELEGRAM_BOT_TOKEN)',
        );
        process.exit(1);
      }
      const sent = await deliver(channels, `🧪 Opsbase test alert from ${hostname()}: alerts reach this channel.`);
      for (const error of sent.errors) console.error(`failed: ${error}`);
      const ok = channels.length - sent.errors.length;
      console.log(`sent to ${ok} of ${channels.length} channel(s): ${channels.map((c) => c.name).join(', ')}`);
      if (sent.errors.length > 0) process.exitCode = 1;
    });

  alerts
    .command('check')
    .description(
      'Evaluate the alert rules once now and send what is due (the server does this every ALERT_CHECK_INTERVAL)',
    )
    .action(async () => {
      const config = cliConfig();
      await withDatabase(config, async (db) => {
        const result = await checkAlerts(
          {
            db,
            config,
            storage: config.s3 ? createStorage(config.s3) : null,
            logger: createLogger('warn', { cli: 'alerts check' }),
            runtime: 'node',
            startedAt: Date.now(),
            holder: `${hostname()}:${process.pid}:cli`,
            channels: alertChannels(config),
            jobs: JOBS,
          },
          createAlertMemory(),
        );
        console.log(
          `${result.outcome}: opened ${result.opened.join(', ') || 'none'}; resolved ${result.resolved.join(', ') || 'none'}` +
            (result.undelivered > 0 ? `; ${result.undelivered} message(s) not delivered` : ''),
        );
        if (result.undelivered > 0) process.exitCode = 1;
      });
    });

  alerts
    .command('list')
    .description('The newest incidents (open ones say OPEN)')
    .option('-n, --limit <n>', 'how many', '20')
    .action(async (options: { limit: string }) => {
      await withDatabase(cliConfig(), async (db) => {
        const rows = [['OPENED', 'RESOLVED', 'KEY', 'NOTIFIED', 'SUMMARY']];
        for (const incident of await recentIncidents(db, Math.max(1, Number(options.limit) || 20))) {
          rows.push([
            incident.opened_at.toISOString(),
            incident.resolved_at?.toISOString() ?? 'OPEN',
            incident.key,
            incident.open_notified_at ? (incident.resolve_notified_at ? 'both' : 'opened') : 'not yet',
            incident.summary.length > 80 ? `${incident.summary.slice(0, 79)}…` : incident.summary,
          ]);
        }
        printTable(rows);
      });
    });

  return alerts;
}
