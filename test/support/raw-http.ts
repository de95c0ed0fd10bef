import { connect } from 'node:net';
import type { Answer } from './envelope.ts';

/**
 * Writes bytes to a server as they are (no client-side checks: NUL bytes, bare LFs, oversized
 * headers all reach the HTTP parser) and reads the first response. null when the server closed
 * without answering; throws when nothing came back within timeoutMs.
 */
export function rawRequest(port: number, request: Uint8Array | string, timeoutMs = 10_000): Promise<Answer | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: Answer | null | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    };
    const timer = setTimeout(
      () => finish(new Error(`no complete answer within ${timeoutMs} ms (got ${received.length} bytes)`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const answer = parseResponse(received, false);
      if (answer) finish(answer);
    });
    // A reset after the answer was written (the server closing a connection it refused) is fine.
    socket.on('error', () => finish(parseResponse(received, true)));
    socket.on('close', () => finish(parseResponse(received, true)));
  });
}

/** The first HTTP/1.1 response in `bytes`, or null while it is incomplete (or, at the end, absent). */
function parseResponse(bytes: Buffer, ended: boolean): Answer | null {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd === -1) return null;
  const [statusLine = '', ...lines] = bytes.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP response: ${statusLine.slice(0, 80)}`);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const rest = bytes.subarray(headEnd + 4);
  const length = headers.get('content-length');
  let body: Buffer | null;
  if (length !== null) {
    body = rest.length >= Number(length) ? rest.subarray(0, Number(length)) : null;
  } else if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
    body = dechunk(rest);
  } else {
    body = ended ? rest : null;
  }
  return body === null ? null : { status, headers, text: body.toString('utf8') };
}

/** The body of a chunked message, or null until its last chunk has arrived. */
function dechunk(bytes: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', offset);
    if (lineEnd === -1) return null;
    const size = Number.parseInt(bytes.subarray(offset, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('malformed chunk size');
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (bytes.length < start + size + 2) return null;
    parts.push(bytes.subarray(start, start + size));
    offset = start + size + 2;
  }
}
