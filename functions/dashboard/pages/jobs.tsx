import type { FC } from 'hono/jsx';
import type { JobStatusView } from '../../../lib/jobs/status.ts';
import type { JobRun } from '../../../lib/jobs/types.ts';
import type { Page } from '../../../lib/pagination.ts';
import { count, duration } from '../format.ts';
import { Ago, Badge, DataTable, Empty, Failure, type Loaded, Pager, Time } from '../layout.tsx';
import { Choice, hrefWith } from '../links.tsx';
import { Toolbar } from './toolbar.tsx';

export type JobsQuery = {
  job?: string;
  status?: JobRun['status'];
  limit: number;
  cursor?: string;
  ran?: number;
};

export type JobsData = {
  query: JobsQuery;
  jobs: Loaded<JobStatusView[]>;
  history: Loaded<Page<JobRun>>;
  /** The run "Run now" just recorded, when asked to show it. */
  ran: JobRun | null;
  now: Date;
};

const BASE = '/admin/system/jobs';
const RUN_STATUSES = ['success', 'error', 'running', 'skipped'] as const;
const TONES = { success: 'ok', error: 'bad', running: 'info', skipped: 'warn' } as const;

export const JobStatusBadge: FC<{ status: JobRun['status'] }> = ({ status }) => (
  <Badge tone={TONES[status]}>{status}</Badge>
);

const RunOutcome: FC<{ run: JobRun }> = ({ run }) => {
  const tone = run.status === 'success' ? 'ok' : run.status === 'error' ? 'bad' : 'warn';
  return (
    <div class={`alert ${tone}`} role="status" data-ran={String(run.id)}>
      <strong>
        <code>{run.jobName}</code> {run.status === 'success' ? 'ran' : run.status}
      </strong>
      {run.durationMs !== null && ` in ${duration(run.durationMs)}`}
      {run.recordsProcessed !== null && ` · ${count(run.recordsProcessed)} records`}
      {run.message && ` · ${run.message}`}
      {run.error && ` · ${run.error}`}
    </div>
  );
};

const JobCard: FC<{ job: JobStatusView }> = ({ job }) => {
  const last = job.lastRun;
  return (
    <article class="card job" data-job={job.name}>
      <header>
        <h3>
          <code>{job.name}</code>
        </h3>
        <span>
          {job.late && <Badge tone="warn">late</Badge>}{' '}
          {last ? <JobStatusBadge status={last.status} /> : <Badge>not run yet</Badge>}
        </span>
      </header>
      <p>{job.description}</p>
      <dl class="kv">
        <dt>Schedule</dt>
        <dd>
          <code>{job.schedule}</code> UTC · every {duration(job.periodMs)}
        </dd>
        <dt>Last run</dt>
        <dd>
          {last ? (
            <>
              <Time at={last.startedAt} /> · {last.trigger}
            </>
          ) : (
            '—'
          )}
        </dd>
        <dt>Duration</dt>
        <dd>{last?.durationMs != null ? duration(last.durationMs) : '—'}</dd>
        <dt>Records</dt>
        <dd>{last?.recordsProcessed != null ? count(last.recordsProcessed) : '—'}</dd>
        <dt>Next run</dt>
        <dd>
          {job.nextRunAt ? (
            <>
              <Time at={job.nextRunAt} /> · <Ago at={job.nextRunAt} />
            </>
          ) : (
            'not scheduled'
          )}
        </dd>
      </dl>
      {job.late && (
        <div class="alert warn">
          Late: no success {job.lastSuccessAt ? <Ago at={job.lastSuccessAt} /> : ''} while it should succeed every{' '}
          {duration(job.periodMs)}. Check the scheduler or the system crontab.
        </div>
      )}
      {last?.status === 'error' && last.error && <div class="alert bad">{last.error}</div>}
      {!last && (
        <p>
          No runs yet: the first runs {job.nextRunAt ? <Time at={job.nextRunAt} /> : 'when triggered'}, or run it now.
        </p>
      )}
      <form method="post" action={`${BASE}/${job.name}/run`}>
        <button class="btn primary" type="submit" data-busy="Running…">
          Run now
        </button>
      </form>
    </article>
  );
};

const HistoryFilters: FC<{ query: JobsQuery; names: string[] }> = ({ query, names }) => (
  <form class="filters" method="get" action={BASE}>
    <Choice label="Job" name="job" value={query.job} options={names} any="All jobs" />
    <Choice label="Status" name="status" value={query.status} options={RUN_STATUSES} any="Any" />
    <button class="btn primary" type="submit">
      Apply
    </button>
    {(query.job || query.status) && (
      <a class="btn" href={BASE}>
        Reset
      </a>
    )}
  </form>
);

const History: FC<{ data: JobsData }> = ({ data }) => {
  const { history, query, jobs } = data;
  if (!history.ok) return <Failure what="job history" error={history.error} />;
  const { items, nextCursor } = history.value;
  if (items.length === 0) {
    const next = jobs.ok
      ? jobs.value
          .filter((j) => j.nextRunAt)
          .sort((a, b) => (a.nextRunAt as string).localeCompare(b.nextRunAt as string))[0]
      : undefined;
    return query.job || query.status || query.cursor ? (
      <Empty title="No runs match">
        <a href={BASE}>Show every run</a>
      </Empty>
    ) : (
      <Empty title="No jobs have run yet">
        {next?.nextRunAt ? (
          <>
            The first <code>{next.name}</code> runs at <Time at={next.nextRunAt} /> ({next.schedule} UTC). Use "Run now"
            to run one sooner.
          </>
        ) : (
          'No job is scheduled.'
        )}
      </Empty>
    );
  }
  const pageQuery = { job: query.job, status: query.status, limit: query.limit === 25 ? undefined : query.limit };
  return (
    <>
      <DataTable
        name="history"
        columns={[
          'Started',
          'Job',
          'Trigger',
          'Status',
          { label: 'Duration', num: true },
          { label: 'Records', num: true },
          'Message',
        ]}
      >
        {items.map((run) => (
          <tr data-run-id={String(run.id)} class={run.id === query.ran ? 'hl' : undefined}>
            <td class="nowrap">
              <Time at={run.startedAt} />
            </td>
            <td>
              <code>{run.jobName}</code>
            </td>
            <td>{run.trigger}</td>
            <td>
              <JobStatusBadge status={run.status} />
            </td>
            <td class="num">{run.durationMs !== null ? duration(run.durationMs) : '—'}</td>
            <td class="num">{run.recordsProcessed !== null ? count(run.recordsProcessed) : '—'}</td>
            <td class="path">
              {run.message}
              {run.error && <div class="err-msg">{run.error}</div>}
            </td>
          </tr>
        ))}
      </DataTable>
      <Pager
        newest={query.cursor ? hrefWith(BASE, pageQuery) : undefined}
        older={nextCursor && hrefWith(BASE, { ...pageQuery, cursor: nextCursor })}
        end="End of the history"
      />
    </>
  );
};

export const JobsPage: FC<{ data: JobsData }> = ({ data }) => (
  <>
    <Toolbar title="Cron Jobs" now={data.now} live={!data.query.cursor} />
    {data.ran && <RunOutcome run={data.ran} />}
    <div data-live>
      {data.jobs.ok ? (
        <div class="jobs">
          {data.jobs.value.map((job) => (
            <JobCard job={job} />
          ))}
        </div>
      ) : (
        <Failure what="jobs" error={data.jobs.error} />
      )}
    </div>
    <section class="card">
      <h2>History</h2>
      <HistoryFilters query={data.query} names={data.jobs.ok ? data.jobs.value.map((j) => j.name) : []} />
      <div data-live>
        <History data={data} />
      </div>
    </section>
  </>
);
