import { ERROR_CODES } from '../../functions/errors.ts';

/** A response read once: status, headers and the raw text. */
export type Answer = { status: number; headers: Headers; text: string };

export async function readAnswer(response: Response | Promise<Response>): Promise<Answer> {
  const res = await response;
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/**
 * What is wrong with an error answer, as a list (empty when it is the envelope
 * `{"error":{"code","message","requestId"}}` with a known code, the request's own id and no stack).
 */
export function envelopeProblems(answer: Answer): string[] {
  const problems: string[] = [];
  if (!answer.headers.get('content-type')?.startsWith('application/json')) {
    problems.push(`content-type ${answer.headers.get('content-type')}`);
  }
  let body: { error?: { code?: unknown; message?: unknown; requestId?: unknown } } | undefined;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return [...problems, `not JSON: ${answer.text.slice(0, 120)}`];
  }
  const error = body?.error;
  if (!error || typeof error !== 'object') return [...problems, `no error envelope: ${answer.text.slice(0, 120)}`];
  if (!(ERROR_CODES as readonly unknown[]).includes(error.code)) problems.push(`unknown code ${String(error.code)}`);
  if (typeof error.message !== 'string' || error.message === '') problems.push('no message');
  if (typeof error.requestId !== 'string' || error.requestId !== answer.headers.get('x-request-id')) {
    problems.push(`requestId ${String(error.requestId)} is not the X-Request-Id ${answer.headers.get('x-request-id')}`);
  }
  if (/\n\s+at\s/.test(answer.text)) problems.push('a stack trace');
  return problems;
}

/** The envelope's code, or undefined when the answer is not an envelope. */
export function errorCode(answer: Answer): string | undefined {
  try {
    return JSON.parse(answer.text)?.error?.code;
  } catch {
    return undefined;
  }
}
