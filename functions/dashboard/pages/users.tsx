import type { FC } from 'hono/jsx';
import type { ActiveUser } from '../../../lib/observability/queries.ts';
import { count } from '../format.ts';
import { Ago, Badge, DataTable, Empty, Failure, type Loaded } from '../layout.tsx';
import { Toolbar } from './toolbar.tsx';

/** Keeps the page light (the tab's budget is 100 KB with its CSS and script). */
const MAX_ROWS = 150;

export type UsersData = { users: Loaded<ActiveUser[]>; windowMinutes: number; now: Date };

export const UsersPage: FC<{ data: UsersData }> = ({ data }) => (
  <>
    <Toolbar title="Active Users" now={data.now} />
    <div data-live>
      {!data.users.ok ? (
        <Failure what="active users" error={data.users.error} />
      ) : (
        <section class="card">
          {data.users.value.length === 0 ? (
            <Empty title={`No one has used the API in the last ${data.windowMinutes} minutes`}>
              Users appear here with their first authenticated request.
            </Empty>
          ) : (
            <>
              <p class="sub">
                {count(data.users.value.length)} users with a request in the last {data.windowMinutes} minutes, most
                recent first{data.users.value.length > MAX_ROWS ? `; the ${MAX_ROWS} most recent are shown` : ''}.
              </p>
              <DataTable
                name="users"
                columns={['Name', 'Role', 'Last path', 'Last active', { label: 'Requests', num: true }]}
              >
                {data.users.value.slice(0, MAX_ROWS).map((u) => (
                  <tr>
                    <td>
                      {u.name}
                      <div class="sub">{u.email}</div>
                    </td>
                    <td>
                      <Badge>{u.role}</Badge>
                    </td>
                    <td class="path">
                      <code>{u.lastPath}</code>
                    </td>
                    <td class="nowrap">
                      <Ago at={u.lastSeen} />
                    </td>
                    <td class="num">{count(u.requests)}</td>
                  </tr>
                ))}
              </DataTable>
            </>
          )}
        </section>
      )}
    </div>
  </>
);
