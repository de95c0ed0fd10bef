import type { FC } from 'hono/jsx';
import type { ErrorGroup } from '../../../lib/observability/queries.ts';
import type { TimeRange } from '../../../schema/dashboard.ts';
import { count } from '../format.ts';
import { Ago, Empty, Failure, type Loaded, Status, Time } from '../layout.tsx';
import { hrefWith, RANGE_LABELS, RangeSelect } from '../links.tsx';
import { Toolbar } from './toolbar.tsx';

export type ErrorsData = {
  query: { range: TimeRange; include4xx: boolean };
  groups: Loaded<ErrorGroup[]>;
  now: Date;
};

const BASE = '/admin/system/errors';
/** Keeps the page light (the tab's budget is 100 KB with its CSS and script); the rest are the long tail. */
const MAX_GROUPS = 50;

/** A route template starts with "/"; anything else (null, a placeholder for unmatched requests) is no route. */
const routeOf = (group: ErrorGroup) => (group.route?.startsWith('/') ? group.route : null);

const Group: FC<{ group: ErrorGroup; range: TimeRange }> = ({ group, range }) => (
  <details class="group" data-route={routeOf(group) ?? ''} data-status={String(group.status)}>
    <summary>
      <span>
        <code>{group.method}</code> <code>{routeOf(group) ?? '(no route matched)'}</code>
      </span>
      <Status code={group.status} />
      <strong class="num">{count(group.count)}×</strong>
      <span class="sub hide-sm">
        last <Ago at={group.lastSeen} />
      </span>
    </summary>
    <ul>
      {group.samples.length === 0 ? (
        <li class="muted">No message was recorded for these responses.</li>
      ) : (
        group.samples.map((message) => <li>{message}</li>)
      )}
    </ul>
    <p class="sub">
      First <Time at={group.firstSeen} />, last <Time at={group.lastSeen} /> ·{' '}
      <a
        href={hrefWith('/admin/system/logs', {
          range,
          status: String(group.status),
          method: group.method,
          route: routeOf(group) ?? undefined,
        })}
      >
        every request in API Logs →
      </a>
    </p>
  </details>
);

export const ErrorsPage: FC<{ data: ErrorsData }> = ({ data }) => {
  const { query, groups } = data;
  return (
    <>
      <Toolbar title="Errors" now={data.now} />
      <form class="filters" method="get" action={BASE}>
        <RangeSelect value={query.range} />
        <label class="check">
          <input type="checkbox" name="include4xx" value="on" checked={query.include4xx} />
          Include 4xx
        </label>
        <button class="btn primary" type="submit">
          Apply
        </button>
      </form>
      <div data-live>
        {!groups.ok ? (
          <Failure what="errors" error={groups.error} />
        ) : (
          <section class="card">
            {groups.value.length === 0 ? (
              <Empty
                title={`No ${query.include4xx ? '4xx or 5xx' : '5xx'} responses in the ${RANGE_LABELS[query.range].toLowerCase()}`}
              >
                {query.include4xx ? 'Nothing failed.' : 'Server errors would be grouped here by route. '}
                {!query.include4xx && (
                  <a href={hrefWith(BASE, { range: query.range, include4xx: 'on' })}>Include 4xx</a>
                )}
              </Empty>
            ) : (
              <>
                <p class="sub">
                  {count(groups.value.reduce((n, g) => n + g.count, 0))} errors in {groups.value.length} groups (route,
                  method, status), most frequent first
                  {groups.value.length > MAX_GROUPS ? `; the ${MAX_GROUPS} largest are shown` : ''}. Open a group for
                  its messages.
                </p>
                {groups.value.slice(0, MAX_GROUPS).map((group) => (
                  <Group group={group} range={query.range} />
                ))}
              </>
            )}
          </section>
        )}
      </div>
    </>
  );
};
