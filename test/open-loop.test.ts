import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOpenLoop } from '../bench/support/open-loop.ts';

// The logging bench's open-loop generator: it sends on schedule whatever the answers do, and
// counts a request's latency from when it was due, so a stall in the server shows in every
// request it held up (a closed loop would simply send fewer).
describe('the open-loop load generator', () => {
  let server: Server;
  let url: string;
  let stallUntil = 0;
  let received = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      received++;
      const answer = () => res.writeHead(req.url === '/missing' ? 404 : 200).end('ok');
      const wait = stallUntil - Date.now();
      if (wait > 0) setTimeout(answer, wait);
      else answer();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends every scheduled request and answers them all', async () => {
    received = 0;
    const result = await runOpenLoop({ url: `${url}/`, ratePerSecond: 200, durationSeconds: 0.5 });
    expect(result.requests).toBe(100);
    expect(result.failures).toBe(0);
    expect(received).toBe(100);
    expect(result.p50Ms).toBeLessThanOrEqual(result.p99Ms);
    // every answer's latency, ascending, so rounds can be pooled before a percentile is taken
    expect(result.latencies).toHaveLength(100);
    expect([...result.latencies]).toEqual([...result.latencies].sort((a, b) => a - b));
    expect(result.latencies[98]).toBe(result.p99Ms);
  });

  it('counts a stall in the latency of every request it held up, from when each was due', async () => {
    stallUntil = Date.now() + 300;
    const result = await runOpenLoop({ url: `${url}/`, ratePerSecond: 100, durationSeconds: 0.5 });
    // The 30 requests due in the first 300 ms waited for its end (10 to 300 ms), the other 20 did not.
    expect(result.requests).toBe(50);
    expect(result.p50Ms).toBeGreaterThanOrEqual(20);
    expect(result.p99Ms).toBeGreaterThanOrEqual(250);
  });

  it('counts answers that are not 2xx as failures', async () => {
    stallUntil = 0;
    const result = await runOpenLoop({ url: `${url}/missing`, ratePerSecond: 100, durationSeconds: 0.2 });
    expect(result.requests).toBe(0);
    expect(result.failures).toBe(20);
  });
});
