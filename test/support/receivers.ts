import { createServer, type IncomingMessage, type Server } from 'node:http';

export type ReceivedRequest = { path: string; body: Record<string, unknown>; at: number };

/**
 * A local HTTP endpoint that records JSON POSTs: a Slack-style incoming webhook, or a fake
 * Telegram Bot API (`answer` decides each reply, so tests can script 429s and failures).
 */
export async function startJsonReceiver(
  answer: (request: ReceivedRequest, index: number) => { status: number; body: unknown } = () => ({
    status: 200,
    body: { ok: true },
  }),
): Promise<{ url: string; received: ReceivedRequest[]; close(): Promise<void> }> {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const request = { path: req.url ?? '', body: text ? JSON.parse(text) : {}, at: Date.now() };
    received.push(request);
    const reply = answer(request, received.length - 1);
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
