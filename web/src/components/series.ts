// Report rows into chart series: one series per combination of dimension values (the
// largest five by total, the rest summed as "other"), one point per period.
import type { Schemas } from '../api/client';

export interface Series {
  label: string;
  values: number[];
}

export interface Chartable {
  periods: string[];
  series: Series[];
}

/** The first day of every period from `from` to `to` (ISO weeks start on Monday), as the
 * API names periods: so a chart shows the empty ones too. */
export function periodsBetween(from: string, to: string, group: 'day' | 'week' | 'month'): string[] {
  const day = (s: string) => new Date(`${s}T00:00:00Z`);
  const start = day(from);
  if (group === 'week') start.setUTCDate(start.getUTCDate() - ((start.getUTCDay() + 6) % 7));
  if (group === 'month') start.setUTCDate(1);
  const end = day(to);
  const out: string[] = [];
  for (const d = start; d <= end && out.length < 2000; ) {
    out.push(d.toISOString().slice(0, 10));
    if (group === 'day') d.setUTCDate(d.getUTCDate() + 1);
    else if (group === 'week') d.setUTCDate(d.getUTCDate() + 7);
    else d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return out;
}

/** `label` names a row's dimensions for people (unit ids become names, say); `periods`
 * are the chart's periods (those of the rows when absent). */
export function seriesOf(
  rows: Schemas['ReportRow'][],
  value: string,
  label: (dims: Record<string, string>) => string,
  keep = 5,
  periods: string[] = [...new Set(rows.map((r) => r.period ?? ''))].sort(),
): Chartable {
  const index = new Map(periods.map((p, i) => [p, i]));
  const byLabel = new Map<string, number[]>();
  for (const r of rows) {
    const name = label(r.dims);
    const values = byLabel.get(name) ?? new Array<number>(periods.length).fill(0);
    const at = index.get(r.period ?? '');
    if (at !== undefined) values[at] += r.values[value] ?? 0;
    byLabel.set(name, values);
  }
  const total = (v: number[]) => v.reduce((a, b) => a + Math.abs(b), 0);
  const ranked = [...byLabel.entries()].sort((a, b) => total(b[1]) - total(a[1]) || a[0].localeCompare(b[0]));
  const series: Series[] = ranked.slice(0, keep).map(([l, values]) => ({ label: l, values }));
  const rest = ranked.slice(keep);
  if (rest.length > 0) {
    series.push({
      label: `other (${rest.length})`,
      values: periods.map((_, i) => rest.reduce((sum, [, v]) => sum + v[i], 0)),
    });
  }
  return { periods, series };
}

/** A dimension map as "DNA · ONC" (values in name order). */
export function dimsLabel(dims: Record<string, string>): string {
  const keys = Object.keys(dims).sort();
  return keys.length ? keys.map((k) => dims[k]).join(' · ') : 'all';
}
