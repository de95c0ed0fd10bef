import type { Child, FC } from 'hono/jsx';
import { Time } from '../layout.tsx';

/**
 * A tab's title, when it was rendered, and the auto-refresh toggle. The toggle is disabled until
 * the client script enables it (without the script there is nothing to refresh with); `live`
 * false turns it off for pages that are not the newest (a deeper log page).
 */
export const Toolbar: FC<{ title: string; now: Date; live?: boolean; children?: Child }> = ({
  title,
  now,
  live = true,
  children,
}) => (
  <div class="toolbar">
    <h1>{title}</h1>
    {children}
    <span class="sub">
      as of <Time at={now} format="datetime" />
    </span>
    <label class="check sub" title={live ? 'Reload this view every 5 seconds' : 'Only the newest page refreshes'}>
      <input type="checkbox" data-auto-refresh="5000" data-refreshable={live ? 'yes' : 'no'} disabled />
      Auto-refresh
    </label>
    <span class="sub" data-refresh-note />
  </div>
);
