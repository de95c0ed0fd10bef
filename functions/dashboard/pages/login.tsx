import type { FC } from 'hono/jsx';
import { Document } from '../layout.tsx';

export type LoginView = {
  email?: string;
  next?: string;
  /** Why the form is shown again: wrong password, throttled, session ended. */
  error?: string;
  notice?: string;
};

export const LoginPage: FC<LoginView> = ({ email, next, error, notice }) => (
  <Document title="Log in">
    <main class="login">
      <span class="brand">
        Opsbase <span>System</span>
      </span>
      <section class="card">
        <h1>Log in to the dashboard</h1>
        {error && (
          <div class="alert bad" role="alert">
            {error}
          </div>
        )}
        {notice && (
          <div class="alert info" role="status">
            {notice}
          </div>
        )}
        <form method="post" action="/admin/login">
          <label>
            Email
            <input type="email" name="email" value={email ?? ''} autocomplete="username" required autofocus />
          </label>
          <label>
            Password
            <input type="password" name="password" autocomplete="current-password" required />
          </label>
          {next && <input type="hidden" name="next" value={next} />}
          <button class="btn primary" type="submit">
            Log in
          </button>
        </form>
        <p class="sub">
          For md and admin accounts. Create one with <code>npx opsbase user create --role admin</code>.
        </p>
      </section>
    </main>
  </Document>
);
