import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from '../lib/logger.ts';
import type { ErrorCode, ErrorEnvelope } from './errors.ts';

const ANSWERS: Record<string, { status: number; reason: string; code: ErrorCode; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    code: 'HEADERS_TOO_LARGE',
    message: 'the request line and headers are larger than the server accepts',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    code: 'REQUEST_TIMEOUT',
    message: 'the request was not received in time',
  },
};
const MALFORMED = {
  status: 400,
  reason: 'Bad Request',
  code: 'BAD_REQUEST' as const,
  message: 'the request is not valid HTTP/1.1',
};

/**
 * Node's HTTP parser refuses some requests before the app sees them (NUL bytes or bare LFs in
 * headers, oversized headers, broken framing) and answers with a bare status line. This answers
 * them with the same JSON envelope and X-Request-Id as everything else, then closes the socket.
 * For the Node server's 'clientError' event.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket, logger: Logger): void {
  const response = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || response?.headersSent) {
    socket.destroy();
    return;
  }
  const answer = ANSWERS[error.code ?? ''] ?? MALFORMED;
  const requestId = randomUUID();
  const envelope: ErrorEnvelope = { error: { code: answer.code, message: answer.message, requestId } };
  const body = JSON.stringify(envelope);
  logger.debug('request refused by the HTTP parser', { requestId, code: error.code, status: answer.status });
  socket.end(
    `HTTP/1.1 ${answer.status} ${answer.reason}\r\n` +
      'Content-Type: application/json; charset=UTF-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      'X-Content-Type-Options: nosniff\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
}
