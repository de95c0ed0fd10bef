import type { FC } from 'hono/jsx';
import type { RequestLogView } from '../../../lib/observability/queries.ts';
import { LOG_METHODS, PAGE_SIZES, TIME_RANGES } from '../../../schema/dashboard.ts';
import { duration } from '../format.ts';
import { Empty, Failure, type Loaded, Status, Time } from '../layout.tsx';
import { hrefWith, RANGE_LABELS } from '../links.ts';
import { Toolbar } from './toolbar.tsx';

export type LogsQuery = {
  range: keyof typeof TIME_RANGES;
  status?: string;
  method?: (typeof LOG_METHODS)[number];
  path?: string;
  route?: string;
  limit: number;
  cursor?: string;
};

export type LogRow = RequestLogView & { user: { name: string; email: string } | null };

export type LogsData = {
  query: LogsQuery;
  page: Loaded<{ items: LogRow[]; nextCursor: string | null }>;
  now: Date;
};

const BASE = '/admin/system/logs';

const Filters: FC<{ query: LogsQuery }> = ({ query }) => (
  <form class="filters" method="get" action={BASE}>
    <label>
      Time range
      <select name="range">
        {Object.keys(TIME_RANGES).map((r) => (
          <option value={r} selected={r === query.range}>
            {RANGE_LABELS[r as keyof typeof TIME_RANGES]}
          </option>
        ))}
      </select>
    </label>
    <label>
      Status
      <input type="text" name="status" value={query.status ?? ''} placeholder="5xx or 404" size={8} list="statuses" />
      <datalist id="statuses">
        {['2xx', '3xx', '4xx', '5xx', '401', '403', '404', '429', '500', '503'].map((s) => (
          <option value={s} />
        ))}
      </datalist>
    </label>
    <label>
      Method
      <select name="method">
        <option value="">Any</option>
        {LOG_METHODS.map((m) => (
          <option value={m} selected={m === query.method}>
            {m}
          </option>
        ))}
      </select>
    </label>
    <label>
      Path contains
      <input type="search" name="path" value={query.path ?? ''} placeholder="/api/users" size={22} />
    </label>
    {query.route && <input type="hidden" name="route" value={query.route} />}
    <label>
      Rows
      <select name="limit">
        {PAGE_SIZES.map((n) => (
          <option value={String(n)} selected={n === query.limit}>
            {n}
          </option>
        ))}
      </select>
    </label>
    <button class="btn primary" type="submit">
      Apply
    </button>
    <a class="btn" href={BASE}>
      Reset
    </a>
    {query.route && (
      <span class="sub">
        Route <code>{query.route}</code> ·{' '}
        <a href={hrefWith(BASE, { ...query, route: undefined, cursor: undefined })}>remove</a>
      </span>
    )}
  </form>
);

const Row: FC<{ row: LogRow }> = ({ row }) => (
  <tr data-log-id={String(row.id)}>
    <td class="nowrap">
      <Time at={row.createdAt} />
    </td>
    <td>
      <code>{row.method}</code>
    </td>
    <td class="path">
      <code title={row.route ? `route ${row.route}` : 'no route matched'}>{row.path}</code>
      {(row.errorCode || row.errorMessage) && (
        <div class="err-msg">
          {row.errorCode}
          {row.errorCode && row.errorMessage ? ': ' : ''}
          {row.errorMessage}
        </div>
      )}
    </td>
    <td>
      <Status code={row.status} />
    </td>
    <td class="num">{duration(row.durationMs)}</td>
    <td>
      {row.user ? (
        <span title={row.user.email}>{row.user.name}</span>
      ) : row.userId ? (
        <span class="muted mono" title="user no longer exists">
          {row.userId.slice(0, 8)}
        </span>
      ) : (
        <span class="muted">anonymous</span>
      )}
    </td>
  </tr>
);

const Table: FC<{ data: LogsData }> = ({ data }) => {
  const { page, query } = data;
  if (!page.ok) return <Failure what="request logs" error={page.error} />;
  const filtered = query.status || query.method || query.path || query.route;
  if (page.value.items.length === 0) {
    return (
      <section class="card">
        {query.cursor ? (
          <Empty title="No older requests">
            You reached the end. <a href={hrefWith(BASE, { ...query, cursor: undefined })}>Back to the newest</a>
          </Empty>
        ) : filtered ? (
          <Empty title="No requests match these filters">
            Widen the time range or <a href={BASE}>reset the filters</a>.
          </Empty>
        ) : (
          <Empty title={`No API requests in the ${RANGE_LABELS[query.range].toLowerCase()}`}>
            Every request to <code>/api/*</code> is logged within a second (except REQUEST_LOG_EXCLUDE, by default{' '}
            <code>/api/health</code>). Try a longer time range.
          </Empty>
        )}
      </section>
    );
  }
  return (
    <section class="card">
      <div class="scroll">
        <table class="data" data-logs>
          <thead>
            <tr>
              <th>Time</th>
              <th>Method</th>
              <th>Path</th>
              <th>Status</th>
              <th class="num">Duration</th>
              <th>User</th>
            </tr>
          </thead>
          <tbody>
            {page.value.items.map((row) => (
              <Row row={row} />
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label="Pages">
        <span>
          {query.cursor ? (
            <a class="btn" href={hrefWith(BASE, { ...query, cursor: undefined })}>
              ← Newest
            </a>
          ) : (
            'Newest first'
          )}
        </span>
        <span>{page.value.items.length} rows</span>
        <span>
          {page.value.nextCursor ? (
            <a class="btn" rel="next" href={hrefWith(BASE, { ...query, cursor: page.value.nextCursor })}>
              Older →
            </a>
          ) : (
            'End of the log'
          )}
        </span>
      </nav>
    </section>
  );
};

export const LogsPage: FC<{ data: LogsData }> = ({ data }) => (
  <>
    <Toolbar title="API Logs" now={data.now} live={!data.query.cursor} />
    <Filters query={data.query} />
    <div data-live>
      <Table data={data} />
    </div>
  </>
);
