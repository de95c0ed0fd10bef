// Virtual users for the load bench and its CI test: each logs in as an account of its role,
// refreshes its token when it nears expiry, and goes through what that role does all day (agents
// their leads, managers leads and tasks, operators their tasks, admins the observability views),
// with a random pause between actions. Every answer is timed and checked: its status and its
// shape against the API's own zod schemas.
import type { z } from '@hono/zod-openapi';
import { SessionSchema } from '../../schema/api/auth.ts';
import { LeadPageSchema, LeadSchema } from '../../schema/api/crm.ts';
import { AdminViewSchema, RequestLogPageSchema } from '../../schema/api/observability.ts';
import { UserSchema } from '../../schema/api/users.ts';
import { TaskDetailSchema, TaskPageSchema, TaskTransitionSchema } from '../../schema/api/vending.ts';
import { keptAliveClient } from './http-probe.ts';
import { LOAD_ACCOUNTS, type LoadRole, loadAccountEmail } from './load-dataset.ts';
import { percentile } from './stats.ts';

export type LoadAccount = { email: string; role: LoadRole };

/** One request: the route it exercised, its status (or why there was none), its time to the last byte. */
export type LoadSample = {
  route: string;
  status: number | 'timeout' | 'error';
  ms: number;
  /** Set when the answer was not the expected status or shape. */
  problem?: string;
};

/** Shares of the virtual users per role (agents work the leads, operators the tasks). */
const ROLE_SHARES: [LoadRole, number][] = [
  ['agent', 0.4],
  ['operator', 0.3],
  ['manager', 0.2],
  ['admin', 0.1],
];

/** `users` accounts split by role, each used by one virtual user only (so no two complete the same task). */
export function loadAccounts(users: number): LoadAccount[] {
  const accounts: LoadAccount[] = [];
  let given = 0;
  ROLE_SHARES.forEach(([role, share], i) => {
    const n = i === ROLE_SHARES.length - 1 ? users - given : Math.max(1, Math.round(users * share));
    if (n > LOAD_ACCOUNTS[role]) throw new Error(`at most ${LOAD_ACCOUNTS[role]} ${role}s: lower BENCH_USERS`);
    for (let k = 0; k < n; k++) accounts.push({ email: loadAccountEmail(role, k), role });
    given += n;
  });
  return accounts.slice(0, users);
}

type Call = {
  route: string;
  method?: string;
  path: string;
  body?: unknown;
  expect?: number;
  schema?: z.ZodType;
  auth?: boolean;
};

type Options = {
  baseUrl: string;
  accounts: LoadAccount[];
  password: string;
  durationMs: number;
  /** Upper bound of the uniform random pause between a user's actions (0: none). */
  thinkMs: number;
  /**
   * User i arrives (and logs in) at i/users of this, as people do over a while rather than in one
   * instant; durationMs starts when the last has arrived.
   */
  rampMs?: number;
  /** No request waits longer; one that does counts as a timeout. */
  timeoutMs: number;
  onProgress?: (samples: LoadSample[], elapsedMs: number) => void;
  progressEveryMs?: number;
};

const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Picks an action by weight. */
function weighted<T>(choices: [number, T][]): T {
  const total = choices.reduce((a, [w]) => a + w, 0);
  let at = Math.random() * total;
  for (const [w, choice] of choices) {
    at -= w;
    if (at < 0) return choice;
  }
  return (choices.at(-1) as [number, T])[1];
}

/** Runs every account's virtual user until the duration is over and each has its last answer; the samples. */
export async function runVirtualUsers(options: Options): Promise<LoadSample[]> {
  const samples: LoadSample[] = [];
  const started = performance.now();
  const deadline = started + (options.rampMs ?? 0) + options.durationMs;
  const ticker = options.onProgress
    ? setInterval(() => options.onProgress?.(samples, performance.now() - started), options.progressEveryMs ?? 10_000)
    : undefined;
  try {
    await Promise.all(options.accounts.map((account, i) => virtualUser(account, i, options, samples, deadline)));
  } finally {
    clearInterval(ticker);
  }
  return samples;
}

async function virtualUser(
  account: LoadAccount,
  index: number,
  options: Options,
  samples: LoadSample[],
  deadline: number,
): Promise<void> {
  // Each user comes from an address of its own, through the proxy the server trusts (loopback).
  const ip = `10.${(index >> 8) & 255}.${index & 255}.7`;
  // and on a kept-alive connection of its own, as a browser would. Not fetch: its client (undici)
  // kept garbage alive through the bench process's minor GCs, whose pauses then landed on the
  // requests being timed (see keptAliveClient).
  const http = keptAliveClient(Number(new URL(options.baseUrl).port));
  let session: { accessToken: string; refreshToken: string; expiresAt: number } | undefined;

  const call = async <T = unknown>(c: Call): Promise<T | undefined> => {
    const headers: Record<string, string> = { 'x-forwarded-for': ip };
    if (c.auth !== false && session) headers.authorization = `Bearer ${session.accessToken}`;
    if (c.body !== undefined) headers['content-type'] = 'application/json';
    const begun = performance.now();
    try {
      const res = await http.request({
        method: c.method ?? 'GET',
        path: c.path,
        headers,
        body: c.body === undefined ? undefined : JSON.stringify(c.body),
        timeoutMs: options.timeoutMs,
      });
      const text = res.body;
      const ms = performance.now() - begun;
      const expected = c.expect ?? 200;
      let problem: string | undefined;
      let parsed: unknown;
      if (res.status !== expected) problem = `${c.method ?? 'GET'} ${c.path}: ${res.status} ${text.slice(0, 200)}`;
      else {
        try {
          parsed = JSON.parse(text);
          const checked = c.schema?.safeParse(parsed);
          if (checked && !checked.success) {
            const issue = checked.error.issues[0];
            problem = `${c.path}: shape: ${issue?.path.join('.')} ${issue?.message}`;
          }
        } catch {
          problem = `${c.path}: not JSON: ${text.slice(0, 100)}`;
        }
      }
      samples.push({ route: c.route, status: res.status, ms, ...(problem ? { problem } : {}) });
      return problem ? undefined : (parsed as T);
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      samples.push({
        route: c.route,
        status: timedOut ? 'timeout' : 'error',
        ms: performance.now() - begun,
        problem: `${c.path}: ${(error as Error).message}`,
      });
      return undefined;
    }
  };

  type Session = z.infer<typeof SessionSchema>;
  const keep = (s: Session | undefined) => {
    if (s) session = { ...s, expiresAt: Date.now() + s.expiresIn * 1000 };
  };
  const login = async () =>
    keep(
      await call<Session>({
        route: 'POST /api/auth/login',
        method: 'POST',
        path: '/api/auth/login',
        body: { email: account.email, password: options.password },
        schema: SessionSchema,
        auth: false,
      }),
    );
  const refresh = async () =>
    session
      ? keep(
          await call<Session>({
            route: 'POST /api/auth/refresh',
            method: 'POST',
            path: '/api/auth/refresh',
            body: { refreshToken: session.refreshToken },
            schema: SessionSchema,
            auth: false,
          }),
        )
      : login();

  // What this user has seen, to open and change: ids from its last lists, and the next page.
  const seen = { leads: [] as string[], agents: [] as string[], leadCursor: null as string | null };
  const tasks = { ids: [] as string[], open: [] as string[], machines: [] as string[], cursor: null as string | null };

  const listLeads = async (filters: Record<string, string>) => {
    const query = new URLSearchParams(filters);
    if (seen.leadCursor && Math.random() < 0.4) query.set('cursor', seen.leadCursor);
    const page = await call<z.infer<typeof LeadPageSchema>>({
      route: 'GET /api/leads',
      path: `/api/leads${query.size ? `?${query}` : ''}`,
      schema: LeadPageSchema,
    });
    if (!page) return;
    seen.leadCursor = page.nextCursor;
    if (page.items.length > 0) seen.leads = page.items.map((l) => l.id);
    for (const l of page.items) if (l.assignedTo && seen.agents.length < 20) seen.agents.push(l.assignedTo);
  };
  const leadFilters = (): Record<string, string> =>
    weighted<Record<string, string>>([
      [3, {}],
      [2, { status: pick(['new', 'contacted', 'qualified']) as string }],
      [1, { limit: '20' }],
      ...(account.role === 'agent'
        ? ([[1, { q: `Lead ${1 + Math.floor(Math.random() * 9)}` }]] as [number, Record<string, string>][])
        : ([
            [1, { updated_since: new Date(Date.now() - 86_400_000).toISOString() }],
            ...(seen.agents.length ? [[1, { assigned_to: pick(seen.agents) as string }]] : []),
          ] as [number, Record<string, string>][])),
    ]);
  const aLead = async () => {
    if (seen.leads.length === 0) await listLeads({});
    return pick(seen.leads);
  };
  const leadDetail = async () => {
    const id = await aLead();
    if (!id) return;
    await call({ route: 'GET /api/leads/:id', path: `/api/leads/${id}`, schema: LeadSchema });
  };
  const patchLead = async () => {
    const id = await aLead();
    if (!id) return;
    const body = weighted<Record<string, string>>([
      [2, { status: pick(['contacted', 'qualified', 'won', 'lost']) as string }],
      [1, { notes: `Called at ${new Date().toISOString()}` }],
    ]);
    await call({ route: 'PATCH /api/leads/:id', method: 'PATCH', path: `/api/leads/${id}`, body, schema: LeadSchema });
  };

  const listTasks = async (filters: Record<string, string>) => {
    const query = new URLSearchParams(filters);
    if (tasks.cursor && Math.random() < 0.3) query.set('cursor', tasks.cursor);
    const page = await call<z.infer<typeof TaskPageSchema>>({
      route: 'GET /api/tasks',
      path: `/api/tasks${query.size ? `?${query}` : ''}`,
      schema: TaskPageSchema,
    });
    if (!page) return;
    tasks.cursor = page.nextCursor;
    if (page.items.length > 0) tasks.ids = page.items.map((t) => t.id);
    if (filters.status === 'open') tasks.open = page.items.map((t) => t.id);
    for (const t of page.items) if (tasks.machines.length < 20) tasks.machines.push(t.machineId);
  };
  const taskFilters = (): Record<string, string> =>
    weighted<Record<string, string>>([
      [3, {}],
      [3, { status: 'open' }],
      [1, { type: pick(['refill', 'collection', 'maintenance']) as string }],
      ...(account.role === 'manager' && tasks.machines.length
        ? ([[1, { machineId: pick(tasks.machines) as string }]] as [number, Record<string, string>][])
        : []),
    ]);
  const taskDetail = async () => {
    if (tasks.ids.length === 0) await listTasks({});
    const id = pick(tasks.ids);
    if (!id) return;
    await call({ route: 'GET /api/tasks/:id', path: `/api/tasks/${id}`, schema: TaskDetailSchema });
  };
  const completeTask = async () => {
    // Only its own open tasks, each once: this user is the only one acting on them.
    if (tasks.open.length === 0) await listTasks({ status: 'open' });
    const id = tasks.open.pop();
    if (!id) return;
    tasks.ids = tasks.ids.filter((t) => t !== id);
    await call({
      route: 'POST /api/tasks/:id/complete',
      method: 'POST',
      path: `/api/tasks/${id}/complete`,
      schema: TaskTransitionSchema,
    });
  };

  const admin = (route: string, path: () => string) => () =>
    call({ route, path: path(), schema: route.endsWith('/logs') ? RequestLogPageSchema : AdminViewSchema });
  const logFilters = () =>
    pick(['', '?status=5xx', '?route=%2Fapi%2Fleads%2F%3Aid', '?method=PATCH', '?status=404&limit=20']) as string;

  const me = () => call({ route: 'GET /api/auth/me', path: '/api/auth/me', schema: UserSchema });
  // A user logs in once, on arriving, as one does at the start of a working session; refreshes
  // keep the session going (when the token nears expiry, and an early one now and then).
  const common: [number, () => Promise<unknown>][] = [
    [5, me],
    [1, refresh],
  ];
  const actions: Record<LoadRole, [number, () => Promise<unknown>][]> = {
    agent: [[30, () => listLeads(leadFilters())], [30, leadDetail], [12, patchLead], ...common],
    manager: [
      [20, () => listLeads(leadFilters())],
      [15, leadDetail],
      [5, patchLead],
      [20, () => listTasks(taskFilters())],
      [15, taskDetail],
      ...common,
    ],
    operator: [[30, () => listTasks(taskFilters())], [30, taskDetail], [12, completeTask], ...common],
    admin: [
      [20, admin('GET /api/admin/system/logs', () => `/api/admin/system/logs${logFilters()}`)],
      [15, admin('GET /api/admin/system/stats', () => `/api/admin/system/stats?window=${pick(['1h', '6h', '24h'])}`)],
      [10, admin('GET /api/admin/system/health', () => '/api/admin/system/health')],
      [10, admin('GET /api/admin/system/errors', () => '/api/admin/system/errors')],
      [10, () => listLeads(leadFilters())],
      ...common,
    ],
  };

  try {
    await sleep(((options.rampMs ?? 0) * index) / options.accounts.length);
    await login();
    // A first pass through every action of the role (as a user opening each page once), then at random.
    const tour = actions[account.role].map(([, action]) => action);
    while (performance.now() < deadline) {
      if (options.thinkMs > 0) await sleep(Math.random() * options.thinkMs);
      if (performance.now() >= deadline) break;
      if (!session) await login();
      else if (session.expiresAt - Date.now() < 60_000) await refresh();
      else await (tour.shift() ?? weighted(actions[account.role]))();
    }
  } finally {
    http.close();
  }
}

export type RouteFigures = {
  route: string;
  count: number;
  /** Answers with another status or shape than expected, timeouts and network errors. */
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  statuses: Record<string, number>;
  /** The first few problems, for the report. */
  problems: string[];
};

/** Per route (in order of first appearance), counts and latency percentiles of the samples. */
export function figuresByRoute(samples: LoadSample[]): RouteFigures[] {
  const byRoute = new Map<string, LoadSample[]>();
  for (const s of samples) {
    const list = byRoute.get(s.route);
    if (list) list.push(s);
    else byRoute.set(s.route, [s]);
  }
  return [...byRoute].map(([route, list]) => {
    const sorted = Float64Array.from(list.map((s) => s.ms)).sort();
    const statuses: Record<string, number> = {};
    for (const s of list) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
    const failed = list.filter((s) => s.problem);
    return {
      route,
      count: list.length,
      errors: failed.length,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      statuses,
      problems: failed.slice(0, 3).map((s) => s.problem as string),
    };
  });
}
