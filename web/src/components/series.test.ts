import { describe, expect, it } from 'vitest';
import { dimsLabel, periodsBetween, seriesOf } from './series';

const row = (period: string, dims: Record<string, string>, count: number) => ({ period, dims, values: { count } });

describe('report series', () => {
  it('makes one series per dimension combination and one point per period', () => {
    const c = seriesOf([row('2026-12-01', { sample_type: 'DNA' }, 3), row('2026-12-02', { sample_type: 'DNA' }, 1), row('2026-12-02', { sample_type: 'RNA' }, 5)], 'count', dimsLabel);
    expect(c.periods).toEqual(['2026-12-01', '2026-12-02']);
    expect(c.series).toEqual([
      { label: 'RNA', values: [0, 5] },
      { label: 'DNA', values: [3, 1] },
    ]);
  });

  it('sums everything past the largest series as other', () => {
    const rows = ['a', 'b', 'c', 'd'].map((t, i) => row('2026-12-01', { t }, i + 1));
    const c = seriesOf(rows, 'count', dimsLabel, 2);
    expect(c.series.map((s) => s.label)).toEqual(['d', 'c', 'other (2)']);
    expect(c.series[2].values).toEqual([3]);
  });

  it('labels dimensions in name order', () => {
    expect(dimsLabel({ sample_type: 'DNA', project: 'ONC' })).toBe('ONC · DNA');
    expect(dimsLabel({})).toBe('all');
  });

  it('lists every period of a range, empty ones too', () => {
    expect(periodsBetween('2026-11-30', '2026-12-02', 'day')).toEqual(['2026-11-30', '2026-12-01', '2026-12-02']);
    // 2026-12-03 is a Thursday: its ISO week began on Monday 2026-11-30.
    expect(periodsBetween('2026-12-03', '2026-12-20', 'week')).toEqual(['2026-11-30', '2026-12-07', '2026-12-14']);
    expect(periodsBetween('2026-11-15', '2027-01-02', 'month')).toEqual(['2026-11-01', '2026-12-01', '2027-01-01']);
    const c = seriesOf([row('2026-12-01', { t: 'a' }, 2)], 'count', dimsLabel, 5, periodsBetween('2026-11-30', '2026-12-02', 'day'));
    expect(c.series).toEqual([{ label: 'a', values: [0, 2, 0] }]);
  });
});
