import type { FC } from 'hono/jsx';
import type { DependencyStatus, HealthReport } from '../../../lib/health.ts';
import type { JobStatusView } from '../../../lib/jobs/status.ts';
import type { StatsBucket } from '../../../lib/observability/queries.ts';
import type { WriterStats } from '../../../lib/observability/request-log-writer.ts';
import { LatencyChart, RequestsChart } from '../charts.tsx';
import { bytes, count, duration, percent } from '../format.ts';
import { Ago, Badge, Empty, Failure, type Loaded, Meter, Time } from '../layout.tsx';
import { JobStatusBadge } from './jobs.tsx';
import { Toolbar } from './toolbar.tsx';

/** One figure of the host metrics (functions/host-metrics.ts), or why it is unavailable. */
type Gauge = {
  available: boolean;
  reason?: string;
  percent?: number;
  usedPercent?: number;
  totalBytes?: number;
  freeBytes?: number;
  cores?: number;
  loadAverage?: number[];
  rssBytes?: number;
  uptimeSeconds?: number;
};

export type OverviewData = {
  health: Loaded<HealthReport>;
  metrics: Loaded<Record<string, unknown> | null>;
  stats: Loaded<{ buckets: StatsBucket[]; bucketMinutes: number }>;
  activeUsers: Loaded<number>;
  jobs: Loaded<JobStatusView[]>;
  writer: WriterStats;
  /** What fires the jobs here, when something does. */
  scheduler: 'in-process' | 'cron-triggers' | null;
  deploy: { commit: string | null; deployedAt: string | null; version: string; runtime: string; startedAt: Date };
  now: Date;
};

const DEPENDENCY_LABELS: Record<string, string> = { database: 'Database', storage: 'Object storage (S3)' };

const DependencyRow: FC<{ name: string; status: DependencyStatus }> = ({ name, status }) => {
  const tone = status.status === 'up' ? 'ok' : status.status === 'down' ? 'bad' : '';
  return (
    <div class={`health ${tone}`} data-dependency={name} data-status={status.status}>
      <span class={`dot ${tone}`} />
      <strong>{DEPENDENCY_LABELS[name] ?? name}</strong>
      <span class="sub">
        {status.status === 'up' && `up · ${duration(status.latencyMs)}`}
        {status.status === 'down' && `down · ${status.message}`}
        {status.status === 'unconfigured' && `not configured · ${status.message}`}
      </span>
    </div>
  );
};

const HealthCard: FC<{ data: OverviewData }> = ({ data }) => {
  const { health, writer, scheduler } = data;
  const writerTone = writer.lastError ? 'bad' : writer.dropped > 0 ? 'warn' : 'ok';
  return (
    <section class="card">
      <header>
        <h2>Health</h2>
        {health.ok &&
          (health.value.status === 'ok' ? (
            <Badge tone="ok">All dependencies up</Badge>
          ) : (
            <Badge tone="bad">{Object.keys(health.value.error).join(', ')} down</Badge>
          ))}
      </header>
      {health.ok ? (
        Object.entries(health.value.details).map(([name, status]) => <DependencyRow name={name} status={status} />)
      ) : (
        <Failure what="health" error={health.error} />
      )}
      <div class={`health ${writerTone === 'ok' ? '' : writerTone}`}>
        <span class={`dot ${writerTone}`} />
        <strong>Request log writer</strong>
        <span class="sub">
          {writer.lastError
            ? `failing · ${writer.lastError}`
            : `backlog ${count(writer.backlog)} · dropped ${count(writer.dropped)}`}
        </span>
      </div>
      <div class="health">
        <span class={`dot ${scheduler ? 'ok' : ''}`} />
        <strong>Job scheduler</strong>
        <span class="sub">
          {scheduler === 'in-process'
            ? 'running in this process'
            : scheduler === 'cron-triggers'
              ? 'Cloudflare Cron Triggers'
              : 'off here (system cron or by hand)'}
        </span>
      </div>
    </section>
  );
};

const SystemCard: FC<{ metrics: OverviewData['metrics'] }> = ({ metrics }) => {
  if (!metrics.ok) {
    return (
      <section class="card">
        <h2>System</h2>
        <Failure what="host metrics" error={metrics.error} />
      </section>
    );
  }
  const m = metrics.value ?? {};
  const gauge = (key: string): Gauge =>
    (m[key] as Gauge | undefined) ?? { available: false, reason: 'not reported by this runtime' };
  const cpu = gauge('cpu');
  const memory = gauge('memory');
  const disk = gauge('disk');
  const proc = gauge('process');
  const unavailable = [cpu, memory, disk].find((g) => !g.available);
  return (
    <section class="card">
      <h2>System</h2>
      {cpu.available && (
        <Meter
          label="CPU"
          value={cpu.percent ?? 0}
          detail={`${percent(cpu.percent ?? 0)} of ${cpu.cores ?? '?'} cores`}
        />
      )}
      {memory.available && (
        <Meter
          label="RAM"
          value={memory.usedPercent ?? 0}
          detail={`${bytes((memory.totalBytes ?? 0) - (memory.freeBytes ?? 0))} of ${bytes(memory.totalBytes ?? 0)}`}
        />
      )}
      {disk.available && (
        <Meter
          label="Disk"
          value={disk.usedPercent ?? 0}
          detail={`${bytes((disk.totalBytes ?? 0) - (disk.freeBytes ?? 0))} of ${bytes(disk.totalBytes ?? 0)}`}
        />
      )}
      {unavailable && <p class="sub">Not available: {unavailable.reason}</p>}
      {cpu.available && (
        <dl class="kv">
          <dt>Load average</dt>
          <dd>{cpu.loadAverage?.join(' · ') ?? '—'}</dd>
          <dt>This process</dt>
          <dd>
            {proc.available
              ? `${bytes(proc.rssBytes ?? 0)} resident · up ${duration((proc.uptimeSeconds ?? 0) * 1000)}`
              : '—'}
          </dd>
        </dl>
      )}
    </section>
  );
};

const StatTile: FC<{ label: string; value: string; sub: string; tone?: string; name: string }> = ({
  label,
  value,
  sub,
  tone,
  name,
}) => (
  <section class="card" data-stat={name}>
    <div class="label">{label}</div>
    <div class={`stat ${tone ?? ''}`}>{value}</div>
    <div class="sub">{sub}</div>
  </section>
);

function todayTotals(buckets: StatsBucket[], now: Date) {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  let requests = 0;
  let errors = 0;
  let dayRequests = 0;
  let dayErrors = 0;
  for (const b of buckets) {
    dayRequests += b.requests;
    dayErrors += b.errors;
    if (new Date(b.at).getTime() >= midnight) {
      requests += b.requests;
      errors += b.errors;
    }
  }
  return { requests, errors, dayRequests, dayErrors };
}

const Stats: FC<{ data: OverviewData }> = ({ data }) => {
  const { stats, activeUsers, deploy } = data;
  const t = stats.ok ? todayTotals(stats.value.buckets, data.now) : null;
  return (
    <div class="grid">
      <StatTile
        name="requests-today"
        label="Requests today"
        value={t ? count(t.requests) : '—'}
        sub={
          t
            ? `since 00:00 UTC · ${count(t.dayRequests)} in the last 24 h`
            : `could not load: ${stats.ok ? '' : stats.error}`
        }
      />
      <StatTile
        name="errors-today"
        label="Errors today"
        value={t ? count(t.errors) : '—'}
        tone={t && t.errors > 0 ? 'bad' : ''}
        sub={
          t
            ? `${t.requests ? percent((t.errors / t.requests) * 100) : '0%'} of requests · 5xx · ${count(t.dayErrors)} in 24 h`
            : 'could not load'
        }
      />
      <StatTile
        name="active-users"
        label="Active users now"
        value={activeUsers.ok ? count(activeUsers.value) : '—'}
        sub={activeUsers.ok ? 'with a request in the last 15 min' : `could not load: ${activeUsers.error}`}
      />
      <section class="card" data-stat="deploy">
        <div class="label">Deployed</div>
        <div class="stat mono">{deploy.commit ? deploy.commit.slice(0, 10) : 'unknown'}</div>
        <div class="sub">
          {deploy.deployedAt && !Number.isNaN(Date.parse(deploy.deployedAt)) ? (
            <>
              <Time at={deploy.deployedAt} format="date" /> ·{' '}
            </>
          ) : deploy.commit ? null : (
            'set DEPLOY_COMMIT and DEPLOY_TIME · '
          )}
          v{deploy.version} on {deploy.runtime} · up since <Ago at={deploy.startedAt} />
        </div>
      </section>
    </div>
  );
};

const Charts: FC<{ stats: OverviewData['stats'] }> = ({ stats }) => {
  if (!stats.ok) return <Failure what="request statistics" error={stats.error} />;
  const { buckets, bucketMinutes } = stats.value;
  const total = buckets.reduce((n, b) => n + b.requests, 0);
  return (
    <div class="grid two">
      <section class="card">
        <header>
          <h2>Requests and errors, last 24 h</h2>
          <span class="legend">
            <span>
              <i class="req" />
              requests
            </span>
            <span>
              <i class="err" />
              5xx
            </span>
          </span>
        </header>
        {total === 0 ? (
          <Empty title="No API requests in the last 24 hours">
            Requests to <code>/api/*</code> are counted here per {bucketMinutes} minutes.
          </Empty>
        ) : (
          <RequestsChart buckets={buckets} bucketMinutes={bucketMinutes} />
        )}
      </section>
      <section class="card">
        <header>
          <h2>p95 latency, last 24 h</h2>
          <span class="legend">
            <span>
              <i class="p95" />
              p95 per {bucketMinutes} min
            </span>
          </span>
        </header>
        {total === 0 ? (
          <Empty title="No latency to show yet">The line appears with the first logged request.</Empty>
        ) : (
          <LatencyChart buckets={buckets} bucketMinutes={bucketMinutes} />
        )}
      </section>
    </div>
  );
};

const JobsStrip: FC<{ jobs: OverviewData['jobs'] }> = ({ jobs }) => (
  <section class="card wide">
    <header>
      <h2>Jobs</h2>
      <a href="/admin/system/jobs">All runs →</a>
    </header>
    {!jobs.ok ? (
      <Failure what="jobs" error={jobs.error} />
    ) : (
      <div class="scroll">
        <table class="data">
          <thead>
            <tr>
              <th>Job</th>
              <th>Last run</th>
              <th>Status</th>
              <th>Next run</th>
            </tr>
          </thead>
          <tbody>
            {jobs.value.map((job) => (
              <tr>
                <td>
                  <code>{job.name}</code> {job.late && <Badge tone="warn">late</Badge>}
                </td>
                <td>{job.lastRun ? <Ago at={job.lastRun.startedAt} /> : <span class="muted">never</span>}</td>
                <td>{job.lastRun ? <JobStatusBadge status={job.lastRun.status} /> : <Badge>not run yet</Badge>}</td>
                <td>{job.nextRunAt ? <Time at={job.nextRunAt} /> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </section>
);

export const OverviewPage: FC<{ data: OverviewData }> = ({ data }) => (
  <>
    <Toolbar title="Overview" now={data.now} />
    <div data-live>
      <div class="grid two">
        <HealthCard data={data} />
        <SystemCard metrics={data.metrics} />
      </div>
      <Stats data={data} />
      <Charts stats={data.stats} />
      <JobsStrip jobs={data.jobs} />
    </div>
  </>
);
