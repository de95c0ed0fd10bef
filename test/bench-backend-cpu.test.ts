import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { childProcessesCpu, cpuUsedSince } from '../bench/support/backend-cpu.ts';
import { waitFor } from './support/processes.ts';

// The logging bench's "database CPU µs/req" (bench/support/backend-cpu.ts): per process, so a
// process that ends during a round does not take its whole past out of the round's sum.

/** A child of this process that spins until it has used `ms` of CPU (however busy the machine), then waits to be killed. */
function spinner(ms: number): ChildProcess {
  const spin = `const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; }; while (cpu() < ${ms * 1000});`;
  return spawn(process.execPath, ['-e', `${spin} setInterval(() => {}, 1000);`], { stdio: 'ignore' });
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Waits until the child has used at least `micros` of CPU, as /proc reads it. */
const spent = (child: ChildProcess, micros: number) =>
  waitFor(async () => (childProcessesCpu(process.pid).get(child.pid as number) ?? 0) >= micros, 20_000, 'CPU spent');

describe('bench CPU accounting', () => {
  it('counts a process that ended during the round as nothing, not as minus what it had used', async () => {
    const ending = spinner(300);
    children.push(ending);
    await spent(ending, 200_000);
    const before = childProcessesCpu(process.pid);
    expect(before.get(ending.pid as number)).toBeGreaterThanOrEqual(200_000);

    ending.kill('SIGKILL');
    await once(ending, 'exit');
    const after = childProcessesCpu(process.pid);
    expect(after.has(ending.pid as number)).toBe(false);
    // The plain difference of the two sums, as the bench had it: negative.
    const sum = (used: Map<number, number>) => [...used.values()].reduce((a, b) => a + b, 0);
    expect(sum(after) - sum(before)).toBeLessThan(0);
    expect(cpuUsedSince(before, after)).toBeGreaterThanOrEqual(0);
  });

  it('counts a process that started during the round whole, and one that ran on by what it used since', async () => {
    const running = spinner(200);
    children.push(running);
    await spent(running, 150_000);
    const before = childProcessesCpu(process.pid);

    const started = spinner(200);
    children.push(started);
    await spent(started, 150_000);
    const after = childProcessesCpu(process.pid);
    const ranOn = (after.get(running.pid as number) ?? 0) - (before.get(running.pid as number) ?? 0);
    expect(ranOn).toBeGreaterThanOrEqual(0);
    // (and whatever other children of this worker used meanwhile, if it has any)
    expect(cpuUsedSince(before, after)).toBeGreaterThanOrEqual(ranOn + (after.get(started.pid as number) ?? 0));
    expect(ranOn + (after.get(started.pid as number) ?? 0)).toBeGreaterThanOrEqual(150_000);
  });
});
