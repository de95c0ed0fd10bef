import type { FC } from 'hono/jsx';
import type { DatabaseStats } from '../../../lib/observability/queries.ts';
import { bytes, count } from '../format.ts';
import { DataTable, Empty, Failure, type Loaded, Meter } from '../layout.tsx';
import { Toolbar } from './toolbar.tsx';

export type PoolUsage = { total: number; idle: number; waiting: number; max: number } | { unavailable: string };

export type DatabaseData = { stats: Loaded<DatabaseStats>; pool: PoolUsage; now: Date };

const PoolCard: FC<{ pool: PoolUsage }> = ({ pool }) => (
  <section class="card" data-panel="pool">
    <h2>Connection pool</h2>
    {'unavailable' in pool ? (
      <p class="sub">Not available: {pool.unavailable}</p>
    ) : (
      <>
        <Meter
          label="In use"
          value={pool.total - pool.idle}
          max={pool.max}
          detail={`${pool.total - pool.idle} of ${pool.max}`}
        />
        <dl class="kv">
          <dt>Open</dt>
          <dd>{pool.total}</dd>
          <dt>Idle</dt>
          <dd>{pool.idle}</dd>
          <dt>Waiting</dt>
          <dd class={pool.waiting > 0 ? 'bad' : ''}>{pool.waiting}</dd>
        </dl>
      </>
    )}
  </section>
);

export const DatabasePage: FC<{ data: DatabaseData }> = ({ data }) => {
  const { stats } = data;
  return (
    <>
      <Toolbar title="Database" now={data.now} />
      <div data-live>
        {!stats.ok ? (
          <>
            <Failure what="database statistics" error={stats.error} />
            <div class="grid">
              <PoolCard pool={data.pool} />
            </div>
          </>
        ) : (
          <>
            <div class="grid">
              <section class="card" data-stat="size">
                <div class="label">Total size</div>
                <div class="stat">{bytes(stats.value.sizeBytes)}</div>
                <div class="sub">pg_database_size of the current database</div>
              </section>
              <section class="card" data-stat="connections">
                <div class="label">Connections</div>
                <div class="stat">{count(stats.value.connections.reduce((n, c) => n + c.count, 0))}</div>
                <div class="sub">
                  {stats.value.connections.map((c) => `${c.count} ${c.state}`).join(' · ') || 'none reported'}
                </div>
              </section>
              <PoolCard pool={data.pool} />
            </div>
            <section class="card">
              <h2>Largest tables</h2>
              {stats.value.tables.length === 0 ? (
                <Empty title="No tables yet">Run the migrations: npx opsbase migrate latest</Empty>
              ) : (
                <DataTable
                  name="tables"
                  columns={[
                    'Table',
                    { label: 'Rows (planner estimate)', num: true },
                    { label: 'Size', num: true },
                    'Share',
                  ]}
                >
                  {stats.value.tables.map((t) => (
                    <tr>
                      <td>
                        <code>{t.name}</code>
                      </td>
                      <td class="num">{count(t.rowsEstimate)}</td>
                      <td class="num">{bytes(t.totalBytes)}</td>
                      <td>
                        <Meter
                          compact
                          label={t.name}
                          value={t.totalBytes}
                          max={stats.value.sizeBytes}
                          detail={`${((t.totalBytes / Math.max(1, stats.value.sizeBytes)) * 100).toFixed(1)}%`}
                        />
                      </td>
                    </tr>
                  ))}
                </DataTable>
              )}
              <p class="sub">
                Partitioned tables (request_logs) count all their partitions. Row counts are the planner's estimates
                (updated by ANALYZE).
              </p>
            </section>
          </>
        )}
      </div>
    </>
  );
};
