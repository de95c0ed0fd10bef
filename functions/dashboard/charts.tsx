import type { FC } from 'hono/jsx';
import type { StatsBucket } from '../../lib/observability/queries.ts';
import { count, duration } from './format.ts';
import { Time } from './layout.tsx';

// Charts are plain SVG drawn on the server: readable without a chart library or a script, and
// small (one group per bucket). Hovering a bucket shows its figures (SVG <title>).

const WIDTH = 720;
const HEIGHT = 150;
const LEFT = 56;
const TOP = 8;
const PLOT_W = WIDTH - LEFT;
const PLOT_H = HEIGHT - TOP - 4;

/** 1, 2, 5 x 10^n at or above the value, so gridlines land on round numbers. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

const y = (value: number, max: number) => TOP + PLOT_H - (value / max) * PLOT_H;
const fixed = (n: number) => n.toFixed(1);

const Grid: FC<{ max: number; label: (n: number) => string }> = ({ max, label }) => (
  <g>
    {[0, 0.5, 1].map((f) => (
      <g>
        <line class="grid-line" x1={LEFT} x2={WIDTH} y1={fixed(y(max * f, max))} y2={fixed(y(max * f, max))} />
        <text class="tick" x={LEFT - 6} y={fixed(y(max * f, max) + 4)} text-anchor="end">
          {label(max * f)}
        </text>
      </g>
    ))}
  </g>
);

/** Five evenly spaced times under a chart, as <time> elements the script shows in local time. */
const TimeAxis: FC<{ from: Date; to: Date }> = ({ from, to }) => (
  <div class="axis">
    {[0, 1, 2, 3, 4].map((i) => (
      <Time at={new Date(from.getTime() + ((to.getTime() - from.getTime()) * i) / 4)} format="time" />
    ))}
  </div>
);

function span(buckets: StatsBucket[], bucketMinutes: number) {
  const from = new Date(buckets[0]?.at ?? Date.now());
  const to = new Date(from.getTime() + buckets.length * bucketMinutes * 60_000);
  return { from, to };
}

const bucketTitle = (b: StatsBucket, minutes: number) =>
  `${b.at.slice(11, 16)}-${new Date(new Date(b.at).getTime() + minutes * 60_000).toISOString().slice(11, 16)} UTC`;

/** Requests per bucket as bars, with the bucket's errors drawn over them in red. */
export const RequestsChart: FC<{ buckets: StatsBucket[]; bucketMinutes: number }> = ({ buckets, bucketMinutes }) => {
  const max = niceCeiling(Math.max(...buckets.map((b) => b.requests), 1));
  const step = PLOT_W / Math.max(1, buckets.length);
  const barWidth = fixed(Math.max(1, step - 1));
  return (
    <div class="chart">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        role="img"
        aria-label={`Requests and errors per ${bucketMinutes} minutes`}
      >
        <Grid max={max} label={(n) => count(Math.round(n))} />
        {buckets.map((b, i) => {
          const x = fixed(LEFT + i * step);
          return (
            <g>
              <title>{`${bucketTitle(b, bucketMinutes)}: ${count(b.requests)} requests, ${count(b.errors)} errors`}</title>
              <rect class="hit" x={x} y={TOP} width={barWidth} height={PLOT_H} />
              {b.requests > 0 && (
                <rect
                  class="bar-req"
                  x={x}
                  y={fixed(y(b.requests, max))}
                  width={barWidth}
                  height={fixed((b.requests / max) * PLOT_H)}
                />
              )}
              {b.errors > 0 && (
                <rect
                  class="bar-err"
                  x={x}
                  y={fixed(y(b.errors, max))}
                  width={barWidth}
                  height={fixed(Math.max(1, (b.errors / max) * PLOT_H))}
                />
              )}
            </g>
          );
        })}
      </svg>
      <TimeAxis {...span(buckets, bucketMinutes)} />
    </div>
  );
};

/** p95 latency per bucket as a line; buckets without requests leave a gap. */
export const LatencyChart: FC<{ buckets: StatsBucket[]; bucketMinutes: number }> = ({ buckets, bucketMinutes }) => {
  const max = niceCeiling(Math.max(...buckets.map((b) => b.p95Ms ?? 0), 1));
  const step = PLOT_W / Math.max(1, buckets.length);
  const segments: string[] = [];
  let current = '';
  buckets.forEach((b, i) => {
    if (b.p95Ms === null) {
      if (current) segments.push(current);
      current = '';
      return;
    }
    current += `${current ? 'L' : 'M'}${fixed(LEFT + i * step + step / 2)} ${fixed(y(b.p95Ms, max))}`;
  });
  if (current) segments.push(current);
  return (
    <div class="chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`p95 latency per ${bucketMinutes} minutes`}>
        <Grid max={max} label={(n) => duration(n)} />
        {segments.map((d) => (
          <path class="line" d={d} />
        ))}
        {buckets.map((b, i) =>
          b.p95Ms === null ? null : (
            <g>
              <title>{`${bucketTitle(b, bucketMinutes)}: p95 ≤ ${duration(b.p95Ms)}, p50 ≤ ${duration(b.p50Ms ?? 0)}`}</title>
              <rect class="hit" x={fixed(LEFT + i * step)} y={TOP} width={fixed(step)} height={PLOT_H} />
              <circle class="pt" cx={fixed(LEFT + i * step + step / 2)} cy={fixed(y(b.p95Ms, max))} r="2" />
            </g>
          ),
        )}
      </svg>
      <TimeAxis {...span(buckets, bucketMinutes)} />
    </div>
  );
};
