import type { AlertDeps } from '../lib/alerts/monitor.ts';
import { alertChannels } from '../lib/alerts/notify.ts';
import { JOBS } from '../lib/jobs/registry.ts';
import type { BackgroundServices } from './jobs-http.ts';

/** What the alert monitor needs, from a process's (or isolate's) services. */
export function alertDeps(s: BackgroundServices): AlertDeps {
  return {
    db: s.db,
    config: s.config,
    storage: s.storage,
    logger: s.logger.child({ component: 'alerts' }),
    runtime: s.runtime,
    startedAt: s.startedAt,
    holder: s.instanceId,
    channels: alertChannels(s.config),
    jobs: JOBS,
  };
}
