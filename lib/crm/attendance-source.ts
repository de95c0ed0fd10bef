/**
 * The attendance device API (the contract the README documents and test/fixtures/device-api.ts
 * speaks): `GET {ATTENDANCE_API_URL}/punches?since=&limit=` with `Authorization: Bearer <key>`,
 * answering `{ punches: [...], next_since, has_more }`. Plain fetch: runs on Node and Workers.
 */

/** One punch as the device reports it (fields unchecked: see validatePunch). */
export type DevicePunch = {
  id?: unknown;
  employee_code?: unknown;
  employee_name?: unknown;
  punch_time?: unknown;
  direction?: unknown;
  device_id?: unknown;
};

export type DevicePage = { punches: DevicePunch[]; nextSince: string; hasMore: boolean };

export class DeviceApiError extends Error {
  override name = 'DeviceApiError';
  readonly transient: boolean;
  constructor(message: string, transient: boolean) {
    super(message);
    this.transient = transient;
  }
}

export type DeviceApiOptions = { url: string; apiKey: string | undefined; timeoutMs: number };

/** One page after `since` (from the beginning when undefined). */
export async function fetchPunchPage(
  options: DeviceApiOptions,
  since: string | undefined,
  limit: number,
  signal: AbortSignal,
): Promise<DevicePage> {
  const url = new URL(`${options.url.replace(/\/+$/, '')}/punches`);
  if (since !== undefined) url.searchParams.set('since', since);
  url.searchParams.set('limit', String(limit));
  const timeout = AbortSignal.timeout(options.timeoutMs);
  let body: unknown;
  try {
    const response = await fetch(url, {
      headers: {
        accept: 'application/json',
        ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      },
      signal: AbortSignal.any([signal, timeout]),
    });
    if (!response.ok) {
      const detail = (await response.text().catch(() => '')).slice(0, 200).trim();
      const transient = response.status === 408 || response.status === 429 || response.status >= 500;
      throw new DeviceApiError(`device API answered ${response.status}${detail ? `: ${detail}` : ''}`, transient);
    }
    body = await response.json().catch(() => {
      throw new DeviceApiError('device API answered something that is not JSON', true);
    });
  } catch (error) {
    if (error instanceof DeviceApiError || signal.aborted) throw error;
    if (timeout.aborted) throw new DeviceApiError(`device API did not answer within ${options.timeoutMs} ms`, true);
    // fetch failed: refused, reset, DNS. fetch's own message is "fetch failed"; the cause says why.
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new DeviceApiError(
      `device API unreachable: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      true,
    );
  }
  return readPage(body, since);
}

function readPage(body: unknown, since: string | undefined): DevicePage {
  const page = body as { punches?: unknown; next_since?: unknown; has_more?: unknown } | null;
  if (!page || !Array.isArray(page.punches) || typeof page.has_more !== 'boolean') {
    throw new DeviceApiError('device API page is missing punches[] or has_more', false);
  }
  const nextSince = page.next_since ?? since;
  if ((typeof nextSince !== 'string' && typeof nextSince !== 'number') || String(nextSince) === '') {
    throw new DeviceApiError('device API page has no next_since', false);
  }
  if (page.has_more && page.punches.length === 0) {
    throw new DeviceApiError('device API says has_more but sent no punches', false);
  }
  return { punches: page.punches as DevicePunch[], nextSince: String(nextSince), hasMore: page.has_more };
}

export function isTransientDeviceError(error: unknown): boolean {
  return error instanceof DeviceApiError && error.transient;
}
