import type { FC } from 'hono/jsx';
import type { RequestLogView } from '../../../lib/observability/queries.ts';
import { LOG_METHODS, PAGE_SIZES, type TIME_RANGES } from '../../../schema/dashboard.ts';
import { duration } from '../format.ts';
import { DataTable, Empty, Failure, type Loaded, Pager, Status, Time } from '../layout.tsx';
import { Choice, hrefWith, RANGE_LABELS, RangeSelect } from '../links.tsx';
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
    <RangeSelect value={query.range} />
    <label>
      Status
      <input type="text" name="status" value={query.status ?? ''} placeholder="5xx or 404" size={8} list="statuses" />
      <datalist id="statuses">
        {['2xx', '3xx', '4xx', '5xx', '401', '403', '404', '429', '500', '503'].map((s) => (
          <option value={s} />
        ))}
      </datalist>
    </label>
    <Choice label="Method" name="method" value={query.method} options={LOG_METHODS} any="Any" />
    <label>
      Path contains
      <input type="search" name="path" value={query.path ?? ''} placeholder="/api/users" size={22} />
    </label>
    {query.route && <input type="hidden" name="route" value={query.route} />}
    <Choice label="Rows" name="limit" value={query.limit} options={PAGE_SIZES} />
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
      <DataTable name="logs" columns={['Time', 'Method', 'Path', 'Status', { label: 'Duration', num: true }, 'User']}>
        {page.value.items.map((row) => (
          <Row row={row} />
        ))}
      </DataTable>
      <Pager
        newest={query.cursor ? hrefWith(BASE, { ...query, cursor: undefined }) : undefined}
        older={page.value.nextCursor && hrefWith(BASE, { ...query, cursor: page.value.nextCursor })}
        middle={`${page.value.items.length} rows`}
        end="End of the log"
      />
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
