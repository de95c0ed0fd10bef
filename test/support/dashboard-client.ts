/**
 * A browser-like client for the dashboard without a browser: keeps the cookies the server sets
 * (dropping those it expires), sends Origin on POSTs like a browser on the same site, and never
 * follows redirects so tests see each one.
 */
export class DashboardClient {
  readonly cookies = new Map<string, string>();
  readonly #base: string;
  readonly #fetch: (url: string, init: RequestInit) => Promise<Response>;

  constructor(base: string, fetcher: (url: string, init: RequestInit) => Promise<Response> = fetch) {
    this.#base = base.replace(/\/$/, '');
    this.#fetch = fetcher;
  }

  get origin(): string {
    return new URL(this.#base).origin;
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.#send(path, { method: 'GET', headers });
  }

  /** A form post; `origin` null sends none, a string overrides this site's. */
  async post(
    path: string,
    form: Record<string, string> = {},
    options: { origin?: string | null; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', ...options.headers };
    const origin = options.origin === undefined ? this.origin : options.origin;
    if (origin !== null) headers.origin = origin;
    return this.#send(path, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
  }

  /** Logs in through the form; resolves to the response (303 on success). */
  login(email: string, password: string, next?: string): Promise<Response> {
    return this.post('/admin/login', { email, password, ...(next ? { next } : {}) });
  }

  async #send(path: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await this.#fetch(`${this.#base}${path}`, {
      ...init,
      redirect: 'manual',
      headers: { ...init.headers, ...(cookie ? { cookie } : {}) },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((p) => p.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const expired = attributes.some((a) => /^max-age=0$/i.test(a)) || pair.slice(eq + 1) === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1));
    }
    return res;
  }
}

/** Parses one Set-Cookie line's attributes (lower-cased names). */
export function cookieAttributes(res: Response, name: string): Record<string, string | true> | undefined {
  const line = res.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
  if (!line) return undefined;
  const out: Record<string, string | true> = {};
  for (const part of line.split(';').slice(1)) {
    const [key = '', value] = part.trim().split('=');
    out[key.toLowerCase()] = value ?? true;
  }
  return out;
}
