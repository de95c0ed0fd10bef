import { describe, expect, it } from 'vitest';
import { medianWithInterval, percentile, pooled, ratioWithInterval } from '../bench/support/stats.ts';

// The statistics the benches' verdicts rest on (bench/support/stats.ts).
describe('bench statistics', () => {
  it('gives the geometric mean of paired ratios with a 95% interval from Student t', () => {
    // logs: ln 0.9, ln 1.0, ln 1.1 -> mean -0.001756, sd 0.0998; t(2) = 4.303
    const { ratio, low, high } = ratioWithInterval([0.9, 1.0, 1.1]);
    expect(ratio).toBeCloseTo(Math.cbrt(0.9 * 1.0 * 1.1), 10);
    const logs = [0.9, 1.0, 1.1].map(Math.log);
    const mean = logs.reduce((a, b) => a + b) / 3;
    const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / 2);
    expect(low).toBeCloseTo(Math.exp(mean - (4.303 * sd) / Math.sqrt(3)), 10);
    expect(high).toBeCloseTo(Math.exp(mean + (4.303 * sd) / Math.sqrt(3)), 10);
    expect(low).toBeLessThan(ratio);
    expect(high).toBeGreaterThan(ratio);
  });

  it('narrows the interval as pairs agree and as they grow in number', () => {
    const noisy = ratioWithInterval([0.85, 1.05, 0.9, 1.1]);
    const steady = ratioWithInterval([0.96, 0.97, 0.96, 0.97]);
    expect(steady.high - steady.low).toBeLessThan(noisy.high - noisy.low);
    const many = ratioWithInterval(Array.from({ length: 40 }, (_, i) => [0.85, 1.05, 0.9, 1.1][i % 4] as number));
    expect(many.high - many.low).toBeLessThan(noisy.high - noisy.low);
    // identical ratios: no spread, the interval is the ratio itself
    const same = ratioWithInterval([0.95, 0.95]);
    for (const value of [same.ratio, same.low, same.high]) expect(value).toBeCloseTo(0.95, 12);
  });

  it('has no interval from a single pair', () => {
    const one = ratioWithInterval([1.2]);
    expect(one.ratio).toBeCloseTo(1.2, 12);
    expect(one.low).toBeNaN();
    expect(one.high).toBeNaN();
  });

  it('pools sorted runs into one ascending array for a percentile over all of them', () => {
    const all = pooled([Float64Array.of(1, 5, 9), Float64Array.of(2, 3), Float64Array.of()]);
    expect([...all]).toEqual([1, 2, 3, 5, 9]);
    expect(percentile(all, 99)).toBe(9);
    expect(percentile(all, 50)).toBe(3);
  });

  it("gives the median of paired differences with the sign test's 95% interval", () => {
    // binomial(12, 1/2): P(X <= 2) = 79/4096 = 1.9%, P(X <= 3) = 7.3%: ranks 3 and 10 of 12
    const twelve = medianWithInterval([9, -4, 1, 12, 3, 0, -1, 7, 2, 5, 40, -30]);
    expect(twelve).toEqual({ median: 2.5, low: -1, high: 9 });
    // binomial(40, 1/2): P(X <= 13) = 1.9%, P(X <= 14) = 4.0%: ranks 14 and 27 of 40
    const forty = medianWithInterval(Array.from({ length: 40 }, (_, i) => 39 - i));
    expect(forty).toEqual({ median: 19.5, low: 13, high: 26 });
    // one pair in a stall moves the median by a rank, not by its stall
    const stalled = medianWithInterval([0.2, 0.3, 0.1, 0.4, 0.2, 0.3, 0.1, 95]);
    expect(stalled.median).toBeCloseTo(0.25, 12);
    // too few pairs for a 95% interval: P(X = 0) of 5 is 3.1%
    const five = medianWithInterval([1, 2, 3, 4, 5]);
    expect(five.median).toBe(3);
    expect(five.low).toBeNaN();
    expect(five.high).toBeNaN();
  });
});
