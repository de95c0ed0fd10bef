import { describe, expect, it } from 'vitest';
import { startJsonReceiver } from '../../test/support/receivers.ts';
import { createTelegramClient, TelegramApiError } from './client.ts';

// Against a local fake of the Bot API over HTTP (Telegram's servers cannot be reached from tests).

const TOKEN = '987654:secret-bot-token';

describe('Telegram client', () => {
  it('sendMessage posts JSON to /bot<token>/sendMessage and returns the message', async () => {
    const api = await startJsonReceiver(() => ({
      status: 200,
      body: { ok: true, result: { message_id: 7, chat: { id: 42 }, date: 1, text: 'hi' } },
    }));
    try {
      const client = createTelegramClient({ token: TOKEN, apiBase: `${api.url}/` });
      const message = await client.sendMessage(42, 'hi', { disable_notification: true });
      expect(message.message_id).toBe(7);
      expect(api.received).toEqual([
        expect.objectContaining({
          path: `/bot${TOKEN}/sendMessage`,
          body: { chat_id: 42, text: 'hi', disable_notification: true },
        }),
      ]);
    } finally {
      await api.close();
    }
  });

  it('waits out a 429 for retry_after seconds, then succeeds', async () => {
    const api = await startJsonReceiver((_r, i) =>
      i < 2
        ? {
            status: 429,
            body: { ok: false, error_code: 429, description: 'Too Many Requests', parameters: { retry_after: 1 } },
          }
        : { status: 200, body: { ok: true, result: { message_id: 1, chat: { id: 1 }, date: 1 } } },
    );
    try {
      const client = createTelegramClient({ token: TOKEN, apiBase: api.url });
      await client.sendMessage(1, 'x');
      expect(api.received).toHaveLength(3);
      const gaps = api.received.slice(1).map((r, i) => r.at - (api.received[i]?.at ?? 0));
      for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(1000);
    } finally {
      await api.close();
    }
  });

  it('gives up on a retry_after longer than allowed, and never retries a 400', async () => {
    const api = await startJsonReceiver((request) =>
      String(request.body.text) === 'flood'
        ? {
            status: 429,
            body: { ok: false, error_code: 429, description: 'Too Many Requests', parameters: { retry_after: 3600 } },
          }
        : { status: 400, body: { ok: false, error_code: 400, description: 'Bad Request: chat not found' } },
    );
    try {
      const client = createTelegramClient({ token: TOKEN, apiBase: api.url, maxRetryAfterSeconds: 30 });
      const flood = await client.sendMessage(1, 'flood').catch((e: unknown) => e);
      expect(flood).toBeInstanceOf(TelegramApiError);
      expect((flood as TelegramApiError).retryAfterSeconds).toBe(3600);
      const bad = await client.sendMessage(1, 'hello').catch((e: unknown) => e);
      expect((bad as TelegramApiError).errorCode).toBe(400);
      expect((bad as Error).message).toBe('telegram sendMessage: 400 Bad Request: chat not found');
      expect(api.received).toHaveLength(2);
    } finally {
      await api.close();
    }
  });

  it('retries a 5xx and a refused connection, and its errors never contain the token', async () => {
    let answered = 0;
    const api = await startJsonReceiver(() =>
      answered++ === 0
        ? { status: 502, body: { ok: false, error_code: 502, description: 'Bad Gateway' } }
        : { status: 200, body: { ok: true, result: { message_id: 2, chat: { id: 1 }, date: 1 } } },
    );
    try {
      const client = createTelegramClient({ token: TOKEN, apiBase: api.url });
      expect((await client.sendMessage(1, 'x')).message_id).toBe(2);
      expect(api.received).toHaveLength(2);
    } finally {
      await api.close();
    }
    const dead = createTelegramClient({ token: TOKEN, apiBase: 'http://127.0.0.1:9', maxRetries: 1 });
    const error = (await dead.sendMessage(1, 'x').catch((e: unknown) => e)) as TelegramApiError;
    expect(error).toBeInstanceOf(TelegramApiError);
    expect(error.errorCode).toBeNull();
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain('secret');
  });
});
