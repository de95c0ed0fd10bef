import { raw } from 'hono/html';
import type { Child, FC, PropsWithChildren } from 'hono/jsx';
import type { AuthContext } from '../context.ts';
import { assetUrl } from './assets.ts';
import { relative, utcText } from './format.ts';

export const TABS = [
  { id: 'overview', path: '/admin/system', label: 'Overview' },
  { id: 'logs', path: '/admin/system/logs', label: 'API Logs' },
  { id: 'jobs', path: '/admin/system/jobs', label: 'Cron Jobs' },
  { id: 'database', path: '/admin/system/database', label: 'Database' },
  { id: 'errors', path: '/admin/system/errors', label: 'Errors' },
  { id: 'users', path: '/admin/system/users', label: 'Active Users' },
] as const;

export type TabId = (typeof TABS)[number]['id'];

/** What a panel loaded, or why it could not: a failed dependency is shown in place, never swallowed. */
export type Loaded<T> = { ok: true; value: T } | { ok: false; error: string };

/** The HTML document: one stylesheet, one deferred script, nothing inline. */
export const Document: FC<PropsWithChildren<{ title: string }>> = ({ title, children }) => (
  <>
    {raw('<!doctype html>')}
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        {/* The app-wide Referrer-Policy is no-referrer, under which browsers send "Origin: null" on form
            posts; same-origin keeps the Origin the CSRF check needs and still sends nothing elsewhere. */}
        <meta name="referrer" content="same-origin" />
        <link rel="icon" href="data:," />
        <title>{title} · Opsbase</title>
        <link rel="stylesheet" href={assetUrl('dashboard.css')} />
        <script src={assetUrl('dashboard.js')} defer />
      </head>
      <body>{children}</body>
    </html>
  </>
);

/** A signed-in page: header with the user and logout, the six tabs, the content. */
export const Shell: FC<PropsWithChildren<{ tab: TabId | null; title: string; user: AuthContext; notice?: Child }>> = ({
  tab,
  title,
  user,
  notice,
  children,
}) => (
  <Document title={title}>
    <header class="top">
      <div class="bar">
        <a class="brand" href="/admin/system">
          Opsbase <span>System</span>
        </a>
        <div class="who">
          <span class="sub">
            Times in <span data-zone>UTC</span>
          </span>
          <span>
            {user.name} <span class="badge">{user.role}</span>
          </span>
          <form method="post" action="/admin/logout">
            <button class="btn" type="submit">
              Log out
            </button>
          </form>
        </div>
      </div>
      <nav class="tabs" aria-label="Dashboard">
        {TABS.map((t) => (
          <a href={t.path} aria-current={t.id === tab ? 'page' : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
    </header>
    <main>
      {notice}
      {children}
    </main>
  </Document>
);

/** A time rendered in UTC, localised by the client script; UTC stays on hover. */
export const Time: FC<{ at: Date | string; format?: 'datetime' | 'date' | 'time' }> = ({ at, format }) => (
  <time datetime={new Date(at).toISOString()} data-format={format} title={utcText(at)}>
    {utcText(at)}
  </time>
);

/** "3 min ago" with the exact time on hover. */
export const Ago: FC<{ at: Date | string }> = ({ at }) => (
  <time datetime={new Date(at).toISOString()} data-format="relative" title={utcText(at)}>
    {relative(at)}
  </time>
);

export const Badge: FC<PropsWithChildren<{ tone?: 'ok' | 'bad' | 'warn' | 'info' }>> = ({ tone, children }) => (
  <span class={tone ? `badge ${tone}` : 'badge'}>{children}</span>
);

/** An HTTP status, coloured by class. */
export const Status: FC<{ code: number }> = ({ code }) => <span class={`st s${Math.floor(code / 100)}`}>{code}</span>;

export const Empty: FC<PropsWithChildren<{ title: string }>> = ({ title, children }) => (
  <div class="empty">
    <strong>{title}</strong>
    {children}
  </div>
);

/** Why a panel has no data: the dependency's own error message. */
export const Failure: FC<{ what: string; error: string }> = ({ what, error }) => (
  <div class="alert bad" role="alert">
    Could not load {what}: {error}
  </div>
);

/** A horizontal bar for a share of a whole (CPU, RAM, disk, pool), in SVG: no inline styles under the CSP. */
export const Meter: FC<{ label: string; value: number; max?: number; detail?: string; compact?: boolean }> = ({
  label,
  value,
  max = 100,
  detail,
  compact,
}) => {
  const share = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  // Load colours for usage; a plain share of a whole (compact) stays neutral.
  const tone = compact ? '' : share >= 0.9 ? 'bad' : share >= 0.75 ? 'warn' : 'ok';
  const bar = (
    <svg viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label={`${label}: ${detail ?? ''}`}>
      <rect class="track" width="100" height="8" />
      <rect class={`fill ${tone}`} width={(share * 100).toFixed(1)} height="8" />
    </svg>
  );
  return compact ? (
    <div class="meter compact">
      {bar}
      <span class="muted">{detail}</span>
    </div>
  ) : (
    <div class="meter">
      <div class="row">
        <span>{label}</span>
        <span class="muted">{detail}</span>
      </div>
      {bar}
    </div>
  );
};

/** A table with its header row; rows come as children. `name` becomes a data- attribute tests and scripts find it by. */
export const DataTable: FC<PropsWithChildren<{ name: string; columns: (string | { label: string; num: true })[] }>> = ({
  name,
  columns,
  children,
}) => (
  <div class="scroll">
    <table class="data" {...{ [`data-${name}`]: '' }}>
      <thead>
        <tr>{columns.map((c) => (typeof c === 'string' ? <th>{c}</th> : <th class="num">{c.label}</th>))}</tr>
      </thead>
      <tbody>{children}</tbody>
    </table>
  </div>
);

/** Keyset paging: back to the newest page, and on to older rows while there are any. */
export const Pager: FC<{ newest?: string; older?: string | null; middle?: string; end: string }> = ({
  newest,
  older,
  middle,
  end,
}) => (
  <nav class="pager" aria-label="Pages">
    <span>
      {newest ? (
        <a class="btn" href={newest}>
          ← Newest
        </a>
      ) : (
        'Newest first'
      )}
    </span>
    {middle && <span>{middle}</span>}
    <span>
      {older ? (
        <a class="btn" rel="next" href={older}>
          Older →
        </a>
      ) : (
        end
      )}
    </span>
  </nav>
);
