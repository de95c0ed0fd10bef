import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A local stand-in for the Telegram Bot API over HTTP: POST (or GET) /bot<token>/<method> with a
// JSON, form or query-string body, answered with the Bot API's envelope ({ok, result} or
// {ok: false, error_code, description, parameters}). It keeps what it was sent, can be told to
// fail the next calls of a method (a 429 with retry_after, a 500), and delivers updates to the
// registered webhook the way Telegram does (POST with X-Telegram-Bot-Api-Secret-Token).

/** A call the fake received, and the HTTP status it answered. */
export type ReceivedCall = { method: string; params: Record<string, unknown>; at: number; status: number };
type Failure = { status: number; description: string; retryAfter?: number };

export type FakeTelegram = {
  apiBase: string;
  token: string;
  calls: ReceivedCall[];
  /** Messages delivered (sendMessage calls answered 200). */
  sent(): { chatId: number; text: string; at: number }[];
  webhook: { url: string; secretToken: string | undefined; allowedUpdates: string[] | undefined } | null;
  /** The next `count` calls of `method` fail this way. */
  failNext(method: string, failure: Failure, count?: number): void;
  /** POSTs an update to the registered webhook as Telegram would; resolves the app's status. */
  deliver(update: Record<string, unknown>): Promise<number>;
  /** A /command message from a chat, as a full Update. */
  message(chatId: number, text: string): Record<string, unknown>;
  close(): Promise<void>;
};

const BOT_PATH = /^\/bot([^/]+)\/(\w+)$/;

export async function startFakeTelegram(token = '123456:TEST-token_abc'): Promise<FakeTelegram> {
  const calls: ReceivedCall[] = [];
  const failures = new Map<string, Failure[]>();
  let webhook: FakeTelegram['webhook'] = null;
  let pending = 0;
  let updateId = 1000;
  let messageId = 1;

  let current: ReceivedCall | undefined;
  const answer = (res: ServerResponse, status: number, body: unknown) => {
    if (current) current.status = status;
    current = undefined;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, description: string, parameters?: unknown) =>
    answer(res, status, { ok: false, error_code: status, description, ...(parameters ? { parameters } : {}) });

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const match = BOT_PATH.exec(url.pathname);
    if (!match) return fail(res, 404, 'Not Found');
    const [, presented, method = ''] = match;
    if (presented !== token) return fail(res, 401, 'Unauthorized');
    let params: Record<string, unknown>;
    try {
      params = { ...Object.fromEntries(url.searchParams), ...(await readParams(req)) };
    } catch {
      return fail(res, 400, "Bad Request: can't parse request body");
    }
    current = { method, params, at: Date.now(), status: 0 };
    calls.push(current);
    const queued = failures.get(method);
    const failure = queued?.shift();
    if (failure) {
      return failure.status === 429
        ? fail(res, 429, `Too Many Requests: retry after ${failure.retryAfter ?? 1}`, {
            retry_after: failure.retryAfter ?? 1,
          })
        : fail(res, failure.status, failure.description);
    }
    switch (method) {
      case 'getMe':
        return answer(res, 200, {
          ok: true,
          result: { id: 123456, is_bot: true, first_name: 'Fake', username: 'fake_bot' },
        });
      case 'sendMessage': {
        const chatId = Number(params.chat_id);
        if (!Number.isSafeInteger(chatId) || typeof params.text !== 'string' || params.text === '') {
          return fail(res, 400, 'Bad Request: chat_id and a non-empty text are required');
        }
        if (params.text.length > 4096) return fail(res, 400, 'Bad Request: message is too long');
        return answer(res, 200, {
          ok: true,
          result: {
            message_id: messageId++,
            date: Math.floor(Date.now() / 1000),
            chat: { id: chatId, type: 'private' },
            from: { id: 123456, is_bot: true, first_name: 'Fake' },
            text: params.text,
          },
        });
      }
      case 'setWebhook': {
        if (typeof params.url !== 'string') return fail(res, 400, 'Bad Request: url is required');
        const secret = params.secret_token;
        if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(String(secret))) {
          return fail(res, 400, 'Bad Request: secret token contains unallowed characters');
        }
        webhook = params.url
          ? {
              url: params.url,
              secretToken: secret === undefined ? undefined : String(secret),
              allowedUpdates: asStringArray(params.allowed_updates),
            }
          : null;
        return answer(res, 200, {
          ok: true,
          result: true,
          description: params.url ? 'Webhook was set' : 'Webhook was deleted',
        });
      }
      case 'deleteWebhook':
        webhook = null;
        return answer(res, 200, { ok: true, result: true, description: 'Webhook was deleted' });
      case 'getWebhookInfo':
        return answer(res, 200, {
          ok: true,
          result: {
            url: webhook?.url ?? '',
            has_custom_certificate: false,
            pending_update_count: pending,
            max_connections: 40,
            ...(webhook?.allowedUpdates ? { allowed_updates: webhook.allowedUpdates } : {}),
          },
        });
      default:
        return fail(res, 404, 'Not Found: method not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeTelegram = {
    apiBase: `http://127.0.0.1:${port}`,
    token,
    calls,
    get webhook() {
      return webhook;
    },
    sent: () =>
      calls
        .filter((c) => c.method === 'sendMessage' && c.status === 200)
        .map((c) => ({ chatId: Number(c.params.chat_id), text: String(c.params.text), at: c.at })),
    failNext(method, failure, count = 1) {
      const queue = failures.get(method) ?? [];
      for (let i = 0; i < count; i++) queue.push(failure);
      failures.set(method, queue);
    },
    async deliver(update) {
      if (!webhook) throw new Error('no webhook is set');
      pending++;
      try {
        const res = await fetch(webhook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(webhook.secretToken ? { 'x-telegram-bot-api-secret-token': webhook.secretToken } : {}),
          },
          body: JSON.stringify(update),
        });
        await res.arrayBuffer();
        return res.status;
      } finally {
        pending--;
      }
    },
    message(chatId, text) {
      return {
        update_id: updateId++,
        message: {
          message_id: updateId,
          date: Math.floor(Date.now() / 1000),
          from: { id: chatId, is_bot: false, first_name: 'Olga', username: `user${chatId}` },
          chat: { id: chatId, type: 'private', first_name: 'Olga' },
          text,
          ...(text.startsWith('/')
            ? { entities: [{ type: 'bot_command', offset: 0, length: text.split(' ')[0]!.length }] }
            : {}),
        },
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  return fake;
}

async function readParams(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  if (!body) return {};
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/json')) {
    const parsed = JSON.parse(body);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed;
  }
  if (type.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(body));
  throw new Error(`unsupported content type ${type}`);
}

function asStringArray(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') {
    try {
      const parsed = JSON.parse(value);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {}
  }
  return undefined;
}
