import { envelopeProblems, errorCode, readAnswer } from './envelope.ts';

/** One request of a load run and how it ended. */
export type LoadSample = {
  /** What was asked ("GET /api/auth/me"). */
  name: string;
  startedAt: number;
  latencyMs: number;
  /** The status, or 'timeout' when no answer came within the request timeout, or 'error' for a network failure. */
  status: number | 'timeout' | 'error';
  /** For error statuses: the envelope's code, and what is wrong with the envelope (empty when it is right). */
  code?: string | undefined;
  problems: string[];
};

export type LoadRequest = { name: string; send: (signal: AbortSignal) => Promise<Response> };

/**
 * Keeps `concurrency` requests in flight until stopped, each with its own timeout, picking the
 * next request round-robin from `requests`. Every sample is kept for the test to judge.
 */
export function startLoad(options: { concurrency: number; timeoutMs: number; requests: LoadRequest[] }) {
  const samples: LoadSample[] = [];
  let running = true;
  let next = 0;
  const worker = async () => {
    while (running) {
      const request = options.requests[next++ % options.requests.length] as LoadRequest;
      const startedAt = Date.now();
      const started = performance.now();
      let sample: LoadSample;
      try {
        const answer = await readAnswer(request.send(AbortSignal.timeout(options.timeoutMs)));
        sample = {
          name: request.name,
          startedAt,
          latencyMs: performance.now() - started,
          status: answer.status,
          code: answer.status >= 400 ? errorCode(answer) : undefined,
          problems: answer.status >= 400 ? envelopeProblems(answer) : [],
        };
      } catch (error) {
        const timedOut = (error as Error).name === 'TimeoutError';
        sample = {
          name: request.name,
          startedAt,
          latencyMs: performance.now() - started,
          status: timedOut ? 'timeout' : 'error',
          problems: [(error as Error).message],
        };
      }
      samples.push(sample);
    }
  };
  const workers = Array.from({ length: options.concurrency }, worker);
  return {
    samples,
    /** Stops issuing requests and waits for those in flight. */
    async stop(): Promise<LoadSample[]> {
      running = false;
      await Promise.all(workers);
      return samples;
    },
  };
}
