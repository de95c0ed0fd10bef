import type { FC } from 'hono/jsx';
import type { AuthContext } from '../../context.ts';
import { Document, Shell } from '../layout.tsx';

export type ProblemView = {
  status: number;
  title: string;
  message: string;
  /** Individual problems (a bad query parameter each). */
  details?: string[];
  requestId?: string;
  /** Signed in: the page keeps the header and tabs. */
  user?: AuthContext;
  /** What to offer next. */
  action?: { href: string; label: string };
};

const Body: FC<ProblemView> = ({ status, title, message, details, requestId, action }) => (
  <section class="card" data-problem={String(status)}>
    <div class="label">Error {status}</div>
    <h1>{title}</h1>
    <p>{message}</p>
    {details && details.length > 0 && (
      <ul>
        {details.map((d) => (
          <li>
            <code>{d}</code>
          </li>
        ))}
      </ul>
    )}
    <p>
      <a class="btn" href={action?.href ?? '/admin/system'}>
        {action?.label ?? 'Back to the overview'}
      </a>
    </p>
    {requestId && <p class="sub">Request id {requestId}</p>}
  </section>
);

/** 400 (bad query), 403 (not an admin, cross-site POST), 404, 503: a page, never a stack trace. */
export const ProblemPage: FC<ProblemView> = (props) =>
  props.user ? (
    <Shell tab={null} title={props.title} user={props.user}>
      <Body {...props} />
    </Shell>
  ) : (
    <Document title={props.title}>
      <main class="login">
        <span class="brand">
          Opsbase <span>System</span>
        </span>
        <Body {...props} />
      </main>
    </Document>
  );
