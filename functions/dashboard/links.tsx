import type { FC } from 'hono/jsx';
import { TIME_RANGES, type TimeRange } from '../../schema/dashboard.ts';

export const RANGE_LABELS: Record<TimeRange, string> = {
  '15m': 'Last 15 minutes',
  '1h': 'Last hour',
  '6h': 'Last 6 hours',
  '24h': 'Last 24 hours',
  '7d': 'Last 7 days',
  '30d': 'Last 30 days',
};

/** A page URL with the given query values; undefined, empty and default-free values are left out. */
export function hrefWith(base: string, params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === '' || value === false) continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `${base}?${text}` : base;
}

/** A labelled select of a filter form; `any` adds an empty first option meaning "no filter". */
export const Choice: FC<{
  label: string;
  name: string;
  value: string | number | undefined;
  options: readonly (string | number)[];
  any?: string;
  labels?: Record<string, string>;
}> = ({ label, name, value, options, any, labels }) => (
  <label>
    {label}
    <select name={name}>
      {any && <option value="">{any}</option>}
      {options.map((o) => (
        <option value={String(o)} selected={o === value}>
          {labels?.[o] ?? o}
        </option>
      ))}
    </select>
  </label>
);

/** The time-range select of the filter forms. */
export const RangeSelect: FC<{ value: TimeRange }> = ({ value }) => (
  <Choice label="Time range" name="range" value={value} options={Object.keys(TIME_RANGES)} labels={RANGE_LABELS} />
);
